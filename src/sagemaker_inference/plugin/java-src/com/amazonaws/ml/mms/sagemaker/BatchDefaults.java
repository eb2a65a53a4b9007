/*
 * Part of sagemaker-inference (Apache License 2.0).
 *
 * The server-wide batching defaults, SAGEMAKER_MODEL_SERVER_BATCH_SIZE (default 1: off) and
 * SAGEMAKER_MODEL_SERVER_MAX_BATCH_DELAY_MS (default 100), applied where MMS 1.1 offers no
 * setting of its own:
 *   - models loaded at start (load_models), which MMS always registers with batch size 1: their
 *     batch size and delay are set once the model store is loaded, before the port opens (MMS
 *     reads both on every batch it collects, so the workers already started pick them up);
 *   - POST /models without batch_size (SageMaker's multi-model registrations carry only
 *     model_name and url): the two parameters are added to the request before MMS reads it.
 * A registration that names its own batch_size is left as it is. The Python side validates the
 * variables at start; a value out of range here gives that variable's default.
 */
package com.amazonaws.ml.mms.sagemaker;

import com.amazonaws.ml.mms.wlm.Model;
import com.amazonaws.ml.mms.wlm.ModelManager;
import com.google.gson.JsonObject;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.nio.charset.StandardCharsets;

public final class BatchDefaults {

    public static final String BATCH_SIZE_ENV = "SAGEMAKER_MODEL_SERVER_BATCH_SIZE";
    public static final String MAX_BATCH_DELAY_ENV = "SAGEMAKER_MODEL_SERVER_MAX_BATCH_DELAY_MS";
    public static final int DEFAULT_MAX_BATCH_DELAY_MS = 100;

    private final int batchSize;
    private final int maxBatchDelay;

    public BatchDefaults(int batchSize, int maxBatchDelay) {
        this.batchSize = batchSize;
        this.maxBatchDelay = maxBatchDelay;
    }

    /** The defaults the environment asks for. */
    public static BatchDefaults fromEnvironment() {
        return new BatchDefaults(
                atLeast(System.getenv(BATCH_SIZE_ENV), 1, 1),
                atLeast(System.getenv(MAX_BATCH_DELAY_ENV), 0, DEFAULT_MAX_BATCH_DELAY_MS));
    }

    public boolean enabled() {
        return batchSize > 1;
    }

    public int batchSize() {
        return batchSize;
    }

    public int maxBatchDelay() {
        return maxBatchDelay;
    }

    /** Give every registered model still at MMS's batch size of 1 these defaults. */
    public void applyToRegisteredModels() {
        if (!enabled()) {
            return;
        }
        for (Model model : ModelManager.getInstance().getModels().values()) {
            if (model.getBatchSize() <= 1) {
                model.setMaxBatchDelay(maxBatchDelay);
                model.setBatchSize(batchSize);
            }
        }
    }

    /**
     * The registration with batch_size and max_batch_delay added when it names no batch_size
     * (the request itself when batching is off or it names one). {@code jsonBody} is the parsed
     * body of a JSON registration, null for one given in the query string.
     */
    public FullHttpRequest addToRegistration(FullHttpRequest request, JsonObject jsonBody) {
        if (!enabled()) {
            return request;
        }
        if (jsonBody != null) {
            if (jsonBody.has("batch_size")) {
                return request;
            }
            jsonBody.addProperty("batch_size", batchSize);
            if (!jsonBody.has("max_batch_delay")) {
                jsonBody.addProperty("max_batch_delay", maxBatchDelay);
            }
            byte[] bytes = jsonBody.toString().getBytes(StandardCharsets.UTF_8);
            FullHttpRequest replaced = request.replace(Unpooled.wrappedBuffer(bytes));
            replaced.headers().set(HttpHeaderNames.CONTENT_LENGTH, bytes.length);
            request.release();
            return replaced;
        }
        QueryStringDecoder query = new QueryStringDecoder(request.uri());
        if (query.parameters().containsKey("batch_size")) {
            return request;
        }
        StringBuilder uri = new StringBuilder(request.uri());
        uri.append(request.uri().indexOf('?') >= 0 ? '&' : '?');
        uri.append("batch_size=").append(batchSize);
        if (!query.parameters().containsKey("max_batch_delay")) {
            uri.append("&max_batch_delay=").append(maxBatchDelay);
        }
        request.setUri(uri.toString());
        return request;
    }

    static int atLeast(String raw, int minimum, int fallback) {
        if (raw == null || raw.trim().isEmpty()) {
            return fallback;
        }
        try {
            int value = Integer.parseInt(raw.trim());
            return value >= minimum ? value : fallback;
        } catch (NumberFormatException e) {
            return fallback;
        }
    }
}
