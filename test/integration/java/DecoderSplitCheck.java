import com.amazonaws.ml.mms.util.codec.ModelResponseDecoder;
import com.amazonaws.ml.mms.util.messages.ModelWorkerResponse;
import com.amazonaws.ml.mms.util.messages.Predictions;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.DecoderException;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

/*
 * Feeds ModelResponseDecoder worker frames (laid out as MMS's Python worker writes them) split
 * at every byte position, one byte at a time, several per read, and with bad lengths; prints
 * where the decoder class came from and "DECODER OK" when every check passed. Run by
 * test_plugin.py with the patches jar before model-server.jar on the class path.
 */
public class DecoderSplitCheck {
    static void text(DataOutputStream out, String value) throws IOException {
        byte[] bytes = value.getBytes(StandardCharsets.UTF_8);
        out.writeInt(bytes.length);
        out.write(bytes);
    }

    static byte[] frame(String phrase, int predictions) throws IOException {
        ByteArrayOutputStream raw = new ByteArrayOutputStream();
        DataOutputStream out = new DataOutputStream(raw);
        out.writeInt(200);
        text(out, "Prediction success");
        for (int p = 0; p < predictions; p++) {
            text(out, "req-" + p);
            text(out, "application/json");
            out.writeInt(415);
            text(out, phrase);
            out.writeInt(2);
            text(out, "content-type");
            text(out, "application/json");
            text(out, "x-k\u00e9y");
            text(out, "v" + p);
            text(out, "{\"message\": \"" + phrase + "\"}");
        }
        out.writeInt(-1);
        return raw.toByteArray();
    }

    static void check(boolean ok, String what) {
        if (!ok) {
            throw new AssertionError(what);
        }
    }

    static void verify(Object message, String phrase, int predictions) {
        ModelWorkerResponse response = (ModelWorkerResponse) message;
        check(response.getCode() == 200, "code");
        check("Prediction success".equals(response.getMessage()), "message");
        check(response.getPredictions().size() == predictions, "prediction count");
        for (int p = 0; p < predictions; p++) {
            Predictions one = response.getPredictions().get(p);
            check(("req-" + p).equals(one.getRequestId()), "request id");
            check("application/json".equals(one.getContentType()), "content type");
            check(one.getStatusCode() == 415, "status");
            check(phrase.equals(one.getReasonPhrase()), "phrase");
            check(one.getHeaders().size() == 2, "header count");
            check("application/json".equals(one.getHeaders().get("content-type")), "header");
            check(("v" + p).equals(one.getHeaders().get("x-k\u00e9y")), "utf-8 header");
            String body = new String(one.getResp(), StandardCharsets.UTF_8);
            check(body.equals("{\"message\": \"" + phrase + "\"}"), "body");
        }
    }

    public static void main(String[] args) throws Exception {
        String phrase = "Unsupported Media Type: application/json; charset=kkkkkkkkkkkkkkkkkk";
        for (int predictions = 0; predictions <= 2; predictions++) {
            byte[] bytes = frame(phrase, predictions);
            // every split point, then one byte at a time
            for (int cut = 0; cut <= bytes.length; cut++) {
                EmbeddedChannel channel = new EmbeddedChannel(new ModelResponseDecoder(6553500));
                channel.writeInbound(Unpooled.wrappedBuffer(bytes, 0, cut));
                if (cut < bytes.length) {
                    check(channel.readInbound() == null, "decoded early at " + cut);
                    channel.writeInbound(Unpooled.wrappedBuffer(bytes, cut, bytes.length - cut));
                }
                verify(channel.readInbound(), phrase, predictions);
                check(channel.readInbound() == null, "extra message");
                channel.finishAndReleaseAll();
            }
            EmbeddedChannel channel = new EmbeddedChannel(new ModelResponseDecoder(6553500));
            for (byte b : bytes) {
                channel.writeInbound(Unpooled.wrappedBuffer(new byte[] {b}));
            }
            verify(channel.readInbound(), phrase, predictions);
            channel.finishAndReleaseAll();
        }
        // two frames in one read, then a third split across the rest
        byte[] one = frame(phrase, 1);
        ByteBuf both = Unpooled.buffer();
        both.writeBytes(one).writeBytes(one).writeBytes(one, 0, 7);
        EmbeddedChannel channel = new EmbeddedChannel(new ModelResponseDecoder(6553500));
        channel.writeInbound(both);
        verify(channel.readInbound(), phrase, 1);
        verify(channel.readInbound(), phrase, 1);
        check(channel.readInbound() == null, "third too early");
        channel.writeInbound(Unpooled.wrappedBuffer(one, 7, one.length - 7));
        verify(channel.readInbound(), phrase, 1);
        channel.finishAndReleaseAll();
        // limits: a body longer than the maximum, a negative length, a huge header count
        byte[] big = frame(phrase, 1);
        expectCorrupt(big, 40, "Message size exceed limit");
        ByteBuf negative = Unpooled.buffer().writeInt(200).writeInt(-5);
        expectCorrupt(negative, 6553500, "Invalid message size: -5");
        ByteBuf headers = Unpooled.buffer().writeInt(200).writeInt(0).writeInt(1).writeByte('r')
                .writeInt(0).writeInt(200).writeInt(0).writeInt(Integer.MAX_VALUE);
        expectCorrupt(headers, 6553500, "Message size exceed limit: " + Integer.MAX_VALUE);
        System.out.println("loaded from "
                + ModelResponseDecoder.class.getProtectionDomain().getCodeSource().getLocation());
        System.out.println("DECODER OK");
    }

    static void expectCorrupt(byte[] bytes, int max, String text) {
        expectCorrupt(Unpooled.wrappedBuffer(bytes), max, text);
    }

    static void expectCorrupt(ByteBuf buf, int max, String text) {
        EmbeddedChannel channel = new EmbeddedChannel(new ModelResponseDecoder(max));
        try {
            channel.writeInbound(buf);
        } catch (DecoderException expected) {
            check(String.valueOf(expected.getMessage()).contains(text), expected.getMessage());
            return;
        }
        throw new AssertionError("no error for " + text);
    }
}
