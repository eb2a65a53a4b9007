/*
 * Part of sagemaker-inference (Apache License 2.0).
 *
 * Makes unloading a model (DELETE /models/{name}) safe while it is being invoked. MMS stops the
 * model's workers at once: the request a worker is running gets 500 "Worker died." and those
 * still queued for the model are never answered. Here, per model, the invocations in flight
 * (POST /models/{name}/invoke, /predictions/{name}, /invocations?model_name={name}) are
 * counted; a DELETE first marks the model as unloading, after which new invocations of it get
 * 503 at once, and reaches MMS only when the model has no invocation in flight (or after
 * SAGEMAKER_MODEL_SERVER_TIMEOUT plus a few seconds at most). Once MMS has unloaded it,
 * invocations get MMS's 404. One instance per connection, after the body aggregator (it
 * relies on RequestGuard answering one request per connection at a time).
 */
package com.amazonaws.ml.mms.sagemaker;

import com.amazonaws.ml.mms.util.ConfigManager;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpStatusClass;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.util.ReferenceCountUtil;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

public class UnloadGate extends ChannelDuplexHandler {

    private static final long POLL_MILLIS = 20;
    private static final long EXTRA_WAIT_MILLIS = 5000;

    // Counts per model name; a name is dropped when its count returns to 0, so invoking many
    // unknown names leaves nothing behind.
    private static final ConcurrentHashMap<String, Integer> IN_FLIGHT = new ConcurrentHashMap<>();
    private static final ConcurrentHashMap<String, Integer> UNLOADING = new ConcurrentHashMap<>();

    /** The model whose invocation this connection is answering, or null. */
    private String invoking;
    /** The model this connection's DELETE is unloading, or null. */
    private String unloading;
    /** Whether a final response is being written. */
    private boolean responding;

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
        if (!(msg instanceof FullHttpRequest)) {
            ctx.fireChannelRead(msg);
            return;
        }
        FullHttpRequest request = (FullHttpRequest) msg;
        QueryStringDecoder query = new QueryStringDecoder(request.uri());
        String[] segments = segments(query.path());
        String invoked = invokedModel(request.method(), segments, query);
        if (invoked != null) {
            if (isUnloading(invoked)) {
                ReferenceCountUtil.release(msg);
                ctx.writeAndFlush(
                        ErrorReplies.response(
                                HttpResponseStatus.SERVICE_UNAVAILABLE,
                                "ServiceUnavailableException",
                                "Model " + ErrorReplies.quote(invoked) + " is being unloaded"));
                return;
            }
            increment(IN_FLIGHT, invoked);
            invoking = invoked;
            ctx.fireChannelRead(msg);
            return;
        }
        if (HttpMethod.DELETE.equals(request.method())
                && segments.length == 2
                && "models".equals(segments[0])) {
            unloading = segments[1];
            increment(UNLOADING, unloading);
            long waitMillis =
                    TimeUnit.SECONDS.toMillis(
                                    ConfigManager.getInstance().getDefaultResponseTimeoutSeconds())
                            + EXTRA_WAIT_MILLIS;
            passWhenIdle(ctx, request, unloading, System.nanoTime() + waitMillis * 1_000_000L);
            return;
        }
        ctx.fireChannelRead(msg);
    }

    private static void passWhenIdle(
            ChannelHandlerContext ctx, FullHttpRequest request, String model, long deadline) {
        if (!ctx.channel().isActive()) {
            ReferenceCountUtil.release(request);
            return;
        }
        if (!IN_FLIGHT.containsKey(model) || System.nanoTime() >= deadline) {
            ctx.fireChannelRead(request);
            return;
        }
        ctx.executor()
                .schedule(
                        () -> passWhenIdle(ctx, request, model, deadline),
                        POLL_MILLIS,
                        TimeUnit.MILLISECONDS);
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise)
            throws Exception {
        if (msg instanceof HttpResponse) {
            responding =
                    ((HttpResponse) msg).status().codeClass() != HttpStatusClass.INFORMATIONAL;
        }
        if (responding && msg instanceof LastHttpContent) {
            responding = false;
            finish();
        }
        ctx.write(msg, promise);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        finish();
        ctx.fireChannelInactive();
    }

    private void finish() {
        if (invoking != null) {
            decrement(IN_FLIGHT, invoking);
            invoking = null;
        }
        if (unloading != null) {
            decrement(UNLOADING, unloading);
            unloading = null;
        }
    }

    static boolean isUnloading(String model) {
        return UNLOADING.containsKey(model);
    }

    private static void increment(ConcurrentHashMap<String, Integer> counts, String key) {
        counts.merge(key, 1, Integer::sum);
    }

    private static void decrement(ConcurrentHashMap<String, Integer> counts, String key) {
        counts.computeIfPresent(key, (k, count) -> count <= 1 ? null : count - 1);
    }

    private static String[] segments(String path) {
        String trimmed = path;
        while (trimmed.startsWith("/")) {
            trimmed = trimmed.substring(1);
        }
        while (trimmed.endsWith("/")) {
            trimmed = trimmed.substring(0, trimmed.length() - 1);
        }
        return trimmed.isEmpty() ? new String[0] : trimmed.split("/");
    }

    /** The model an inference request names, or null when it is not one. */
    static String invokedModel(HttpMethod method, String[] segments, QueryStringDecoder query) {
        if (segments.length == 3 && "models".equals(segments[0]) && "invoke".equals(segments[2])) {
            return segments[1];
        }
        if (segments.length == 2 && "predictions".equals(segments[0])) {
            return segments[1];
        }
        if (segments.length == 1 && "invocations".equals(segments[0])) {
            List<String> names = query.parameters().get("model_name");
            if (names != null && !names.isEmpty()) {
                return names.get(0);
            }
        }
        return null;
    }
}
