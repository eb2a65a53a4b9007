/*
 * Part of sagemaker-inference (Apache License 2.0).
 *
 * Stand-in for Multi Model Server 1.1's decoder of the frames its Python workers send back. It
 * is compiled into a separate "patches" jar that goes BEFORE model-server.jar on java's class
 * path, so the JVM loads this class instead of MMS's (same package and name, same constructor,
 * same output). MMS's own version throws when a frame arrives split across socket reads inside
 * a prediction's header map or its status code, and MMS then kills the worker ("Worker died.").
 *
 * Here a frame is first walked without consuming anything, checking that every length prefix
 * and every field it announces is already buffered; only a complete frame is then read and
 * turned into a ModelWorkerResponse. An incomplete one leaves the buffer untouched, and Netty
 * calls decode again once more bytes came in. Size limits are kept: every length (message,
 * request id, content type, phrase, header count, header key and value, body) above the
 * configured maximum (MMS's max_response_size) or below zero is a CorruptedFrameException.
 *
 * It also honours the library's request to recycle a worker (see RETIRE_HEADER).
 *
 * Frame (big-endian 32-bit ints; "text" and "bytes" are an int length then that many bytes,
 * text being UTF-8):
 *   int code, text message,
 *   per prediction: text requestId (a length of -1 ends the list instead), text contentType,
 *     int statusCode, text reasonPhrase, int headerCount, headerCount x (text key, text value),
 *     bytes body.
 */
package com.amazonaws.ml.mms.util.codec;

import com.amazonaws.ml.mms.util.messages.ModelWorkerResponse;
import com.amazonaws.ml.mms.util.messages.Predictions;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.codec.CorruptedFrameException;
import java.lang.reflect.Field;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

public class ModelResponseDecoder extends ByteToMessageDecoder {

    private static final int INT_BYTES = 4;
    private static final int END_OF_PREDICTIONS = -1;

    private final int maxBufferSize;

    public ModelResponseDecoder(int maxBufferSize) {
        this.maxBufferSize = maxBufferSize;
    }

    /**
     * A prediction header by which the library's Python handler asks for its worker to be
     * recycled (SAGEMAKER_MAX_REQUESTS_PER_WORKER, SAGEMAKER_MAX_WORKER_RSS_MB). It is removed
     * here, and the worker's MMS thread is told to stop once it has delivered this answer: it
     * then takes no further request, disconnects (the Python worker exits) and MMS starts a
     * fresh worker after its usual retry delay. No request is failed.
     */
    static final String RETIRE_HEADER = "x-sagemaker-inference-retire-worker";

    private static final Logger LOGGER = LoggerFactory.getLogger(ModelResponseDecoder.class);

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (!isComplete(in)) {
            return;
        }
        ModelWorkerResponse response = readResponse(in);
        if (retireRequested(response)) {
            stopWorkerThread(ctx);
        }
        out.add(response);
    }

    private static boolean retireRequested(ModelWorkerResponse response) {
        boolean requested = false;
        List<Predictions> predictions = response.getPredictions();
        if (predictions == null) {
            return false;
        }
        for (Predictions prediction : predictions) {
            Map<String, String> headers = prediction.getHeaders();
            if (headers != null && headers.remove(RETIRE_HEADER) != null) {
                requested = true;
            }
        }
        return requested;
    }

    /**
     * Clears the "running" flag of the MMS WorkerThread that owns this backend channel, found
     * through its handler in the pipeline; its loop then ends after handing over this answer.
     */
    private static void stopWorkerThread(ChannelHandlerContext ctx) {
        try {
            for (Map.Entry<String, ChannelHandler> entry : ctx.pipeline()) {
                ChannelHandler handler = entry.getValue();
                if (!handler.getClass().getName().endsWith("WorkerThread$WorkerHandler")) {
                    continue;
                }
                Field outer = handler.getClass().getDeclaredField("this$0");
                outer.setAccessible(true);
                Object thread = outer.get(handler);
                Field running = thread.getClass().getDeclaredField("running");
                running.setAccessible(true);
                ((AtomicBoolean) running.get(thread)).set(false);
                LOGGER.info("Recycling a worker: it finishes this request and is replaced");
                return;
            }
            LOGGER.warn("Cannot recycle the worker: MMS's worker handler was not found");
        } catch (ReflectiveOperationException | RuntimeException e) {
            LOGGER.warn("Cannot recycle the worker: {}", e.toString());
        }
    }

    /** Whether a whole frame is buffered from the reader index on; consumes nothing. */
    private boolean isComplete(ByteBuf in) {
        Walker walk = new Walker(in);
        if (!walk.skipInt() || !walk.skipSized()) {
            return false;
        }
        while (true) {
            if (!walk.has(INT_BYTES)) {
                return false;
            }
            int idLength = walk.nextInt();
            if (idLength == END_OF_PREDICTIONS) {
                return true;
            }
            if (!walk.skip(checkLength(idLength))) {
                return false;
            }
            if (!walk.skipSized() || !walk.skipInt() || !walk.skipSized()) {
                return false;
            }
            if (!walk.has(INT_BYTES)) {
                return false;
            }
            int headerCount = checkLength(walk.nextInt());
            for (int i = 0; i < headerCount; i++) {
                if (!walk.skipSized() || !walk.skipSized()) {
                    return false;
                }
            }
            if (!walk.skipSized()) {
                return false;
            }
        }
    }

    /** Reads one frame that isComplete has checked, lengths included. */
    private ModelWorkerResponse readResponse(ByteBuf in) {
        ModelWorkerResponse response = new ModelWorkerResponse();
        response.setCode(in.readInt());
        response.setMessage(readText(in, in.readInt()));
        List<Predictions> predictions = new ArrayList<>();
        int idLength;
        while ((idLength = in.readInt()) != END_OF_PREDICTIONS) {
            Predictions prediction = new Predictions();
            prediction.setRequestId(readText(in, idLength));
            prediction.setContentType(readText(in, in.readInt()));
            prediction.setStatusCode(in.readInt());
            prediction.setReasonPhrase(readText(in, in.readInt()));
            int headerCount = in.readInt();
            Map<String, String> headers = new HashMap<>();
            for (int i = 0; i < headerCount; i++) {
                String key = readText(in, in.readInt());
                headers.put(key, readText(in, in.readInt()));
            }
            prediction.setHeaders(headers);
            byte[] body = new byte[in.readInt()];
            in.readBytes(body);
            prediction.setResp(body);
            predictions.add(prediction);
        }
        response.setPredictions(predictions);
        return response;
    }

    private static String readText(ByteBuf in, int length) {
        String text = in.toString(in.readerIndex(), length, StandardCharsets.UTF_8);
        in.skipBytes(length);
        return text;
    }

    private int checkLength(int length) {
        if (length < 0) {
            throw new CorruptedFrameException("Invalid message size: " + length);
        }
        if (length > maxBufferSize) {
            throw new CorruptedFrameException("Message size exceed limit: " + length);
        }
        return length;
    }

    /** A read position over the buffered bytes that never moves the buffer's own indexes. */
    private final class Walker {
        private final ByteBuf buf;
        private final long end;
        private long position;

        Walker(ByteBuf buf) {
            this.buf = buf;
            this.position = buf.readerIndex();
            this.end = buf.writerIndex();
        }

        boolean has(long count) {
            return end - position >= count;
        }

        /** Call only after has(INT_BYTES). */
        int nextInt() {
            int value = buf.getInt((int) position);
            position += INT_BYTES;
            return value;
        }

        boolean skip(long count) {
            if (!has(count)) {
                return false;
            }
            position += count;
            return true;
        }

        boolean skipInt() {
            return skip(INT_BYTES);
        }

        /** Skips a length prefix and the bytes it announces, after checking the length. */
        boolean skipSized() {
            if (!has(INT_BYTES)) {
                return false;
            }
            return skip(checkLength(nextInt()));
        }
    }
}
