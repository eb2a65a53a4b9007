/*
 * Part of sagemaker-inference (Apache License 2.0).
 *
 * Netty reads header bytes as ISO-8859-1 and MMS passes them on to the Python worker encoded as
 * UTF-8, so a value the client sent as UTF-8 ("café" in custom attributes) reached the handler
 * garbled ("cafÃ©"). This handler, after the body aggregator, turns every header value that
 * holds non-ASCII bytes back into those bytes and decodes them as UTF-8: a valid value then
 * reaches the handler exactly as the client sent it; a value that is not UTF-8, or a header
 * name that is not ASCII, gets 400 with the header's name in the reason.
 */
package com.amazonaws.ml.mms.sagemaker;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.util.ReferenceCountUtil;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

public class HeaderCharsetGuard extends ChannelInboundHandlerAdapter {

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
        if (msg instanceof FullHttpRequest) {
            String problem = recode(((FullHttpRequest) msg).headers());
            if (problem != null) {
                ReferenceCountUtil.release(msg);
                ErrorReplies.sendAndClose(
                        ctx, HttpResponseStatus.BAD_REQUEST, "BadRequestException", problem);
                return;
            }
        }
        ctx.fireChannelRead(msg);
    }

    /**
     * Replaces each non-ASCII header value by its UTF-8 reading; returns why the headers are
     * refused, or null when they are fine (ASCII-only headers are left untouched).
     */
    public static String recode(HttpHeaders headers) {
        Set<String> recoded = new LinkedHashSet<>();
        for (Map.Entry<String, String> entry : headers) {
            String name = entry.getKey();
            if (!isAscii(name)) {
                return "A header name is not ASCII: " + ErrorReplies.quote(name);
            }
            if (isAscii(entry.getValue())) {
                continue;
            }
            if (utf8(entry.getValue()) == null) {
                return "The value of header "
                        + name
                        + " is not valid UTF-8 (send UTF-8, or ASCII only)";
            }
            recoded.add(name);
        }
        // Set each affected header again with all its values, in their order.
        for (String name : recoded) {
            List<String> values = new ArrayList<>();
            for (String value : headers.getAll(name)) {
                values.add(isAscii(value) ? value : utf8(value));
            }
            headers.set(name, values);
        }
        return null;
    }

    private static boolean isAscii(String text) {
        for (int i = 0; i < text.length(); i++) {
            if (text.charAt(i) > 0x7f) {
                return false;
            }
        }
        return true;
    }

    /** The UTF-8 reading of a string of byte-valued chars; null when it is not UTF-8. */
    static String utf8(String latin1) {
        byte[] bytes = new byte[latin1.length()];
        for (int i = 0; i < bytes.length; i++) {
            char c = latin1.charAt(i);
            if (c > 0xff) {
                return null;
            }
            bytes[i] = (byte) c;
        }
        try {
            return StandardCharsets.UTF_8
                    .newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes))
                    .toString();
        } catch (CharacterCodingException e) {
            return null;
        }
    }
}
