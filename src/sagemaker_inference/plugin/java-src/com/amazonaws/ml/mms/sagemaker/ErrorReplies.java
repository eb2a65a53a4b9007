/*
 * Part of sagemaker-inference (Apache License 2.0).
 *
 * Error answers written by the library's guards in MMS's front end: MMS's error document
 * ({"code", "type", "message"}) on one line, with Connection: close, and the connection closed
 * once the answer is out, as MMS does for every status of 400 and above.
 */
package com.amazonaws.ml.mms.sagemaker;

import com.google.gson.JsonObject;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import java.nio.charset.StandardCharsets;

public final class ErrorReplies {

    private static final int MAX_QUOTED = 120;

    private ErrorReplies() {}

    /** A complete error response; the caller writes it. */
    public static FullHttpResponse response(HttpResponseStatus status, String type, String message) {
        JsonObject document = new JsonObject();
        document.addProperty("code", status.code());
        document.addProperty("type", type);
        document.addProperty("message", message);
        byte[] body = (document.toString() + "\n").getBytes(StandardCharsets.UTF_8);
        FullHttpResponse response =
                new DefaultFullHttpResponse(
                        HttpVersion.HTTP_1_1, status, Unpooled.wrappedBuffer(body));
        response.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON);
        response.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, body.length);
        response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        return response;
    }

    /** Writes the error and closes the connection after it. */
    public static void sendAndClose(
            ChannelHandlerContext ctx, HttpResponseStatus status, String type, String message) {
        ctx.writeAndFlush(response(status, type, message))
                .addListener(ChannelFutureListener.CLOSE);
    }

    /**
     * {@code value} made safe to quote in a message: printable ASCII kept, anything else shown
     * as \\uXXXX, cut after a few dozen characters.
     */
    public static String quote(String value) {
        StringBuilder out = new StringBuilder("\"");
        int limit = Math.min(value.length(), MAX_QUOTED);
        for (int i = 0; i < limit; i++) {
            char c = value.charAt(i);
            if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
                out.append(c);
            } else {
                out.append(String.format("\\u%04x", (int) c));
            }
        }
        if (value.length() > limit) {
            out.append("...");
        }
        return out.append('"').toString();
    }
}
