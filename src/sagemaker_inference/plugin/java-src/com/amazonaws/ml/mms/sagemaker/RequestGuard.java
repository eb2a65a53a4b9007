/*
 * Part of sagemaker-inference (Apache License 2.0).
 *
 * Connection handling that MMS's front end lacks, one instance per connection, placed right
 * after the HTTP codec so that it sees every request as it is decoded and every response as it
 * is written (MMS's handler, the aggregator's 413 and the library's guards alike).
 *   Connection: close   A request that asks for it (or an HTTP/1.0 request without
 *                       keep-alive) gets "Connection: close" on its response, and the
 *                       connection is closed once that response is written. MMS keeps it open.
 *   idle connections    With no request in flight for SAGEMAKER_KEEP_ALIVE_TIMEOUT_SECONDS
 *                       (default 60; 0 keeps idle connections open for ever, as MMS does) the
 *                       connection is closed. A request that takes longer is not cut off.
 *   draining            After SIGTERM (see Drain) a new request is answered 503 with
 *                       Connection: close, after any answers the connection still owes;
 *                       answers to requests read before carry Connection: close.
 *   pipelining          A request that arrives while an earlier one on the connection is
 *                       unanswered is held (and reading paused) until that answer is written,
 *                       so answers come in request order; MMS ran them side by side and
 *                       answered whichever finished first.
 * It also counts the requests in flight for Drain.
 */
package com.amazonaws.ml.mms.sagemaker;

import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpStatusClass;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.ReferenceCountUtil;
import java.util.ArrayDeque;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

public class RequestGuard extends ChannelDuplexHandler {

    public static final String KEEP_ALIVE_TIMEOUT_ENV = "SAGEMAKER_KEEP_ALIVE_TIMEOUT_SECONDS";
    public static final int DEFAULT_KEEP_ALIVE_TIMEOUT_SECONDS = 60;

    private static final Logger LOGGER = LoggerFactory.getLogger(RequestGuard.class);

    /** Requests read on this connection whose final response is not written yet. */
    private int inFlight;
    /** Whether a final response is being written (between its head and its last content). */
    private boolean responding;
    /** Close the connection once no request is in flight. */
    private boolean closeWhenIdle;
    /** Pipelined requests (and their parts) read while an earlier one is unanswered. */
    private final ArrayDeque<Object> held = new ArrayDeque<>();
    /** The JVM is about to exit: output is shut down, input is read and dropped. */
    private boolean closingDown;
    /** Dropping the body of a request refused while draining. */
    private boolean refusing;
    /** A refused request waits for the answers to earlier requests on this connection. */
    private boolean refusalPending;

    /** The idle timeout in seconds from the environment; 0 disables it. */
    public static int keepAliveTimeoutSeconds() {
        String raw = System.getenv(KEEP_ALIVE_TIMEOUT_ENV);
        if (raw == null || raw.trim().isEmpty()) {
            return DEFAULT_KEEP_ALIVE_TIMEOUT_SECONDS;
        }
        try {
            int value = Integer.parseInt(raw.trim());
            if (value >= 0) {
                return value;
            }
        } catch (NumberFormatException ignored) {
            // warned below
        }
        LOGGER.warn(
                "Ignoring {}={}: not a whole number of seconds >= 0; using {}",
                KEEP_ALIVE_TIMEOUT_ENV,
                raw,
                DEFAULT_KEEP_ALIVE_TIMEOUT_SECONDS);
        return DEFAULT_KEEP_ALIVE_TIMEOUT_SECONDS;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) throws Exception {
        Drain.register(ctx.channel());
        ctx.fireChannelActive();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
        if (closingDown) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (!held.isEmpty() || (msg instanceof HttpRequest && inFlight > 0)) {
            // A pipelined request: MMS would run it beside the one in flight and answer
            // whichever finishes first. Hold it (and stop reading) until the answer is out.
            held.add(msg);
            ctx.channel().config().setAutoRead(false);
            return;
        }
        process(ctx, msg);
    }

    /** Passes held requests on, one at a time, once the connection owes no answer. */
    private void releaseHeld(ChannelHandlerContext ctx) {
        while (!held.isEmpty() && inFlight == 0 && !refusing && !refusalPending) {
            Object msg = held.poll();
            try {
                process(ctx, msg);
            } catch (Exception e) {
                ctx.fireExceptionCaught(e);
                return;
            }
            if (inFlight > 0 || refusing) {
                // Its remaining parts follow it; the next request waits for its answer.
                while (!held.isEmpty() && !(held.peek() instanceof HttpRequest)) {
                    try {
                        process(ctx, held.poll());
                    } catch (Exception e) {
                        ctx.fireExceptionCaught(e);
                        return;
                    }
                }
            }
        }
        if (held.isEmpty() && ctx.channel().isActive()) {
            ctx.channel().config().setAutoRead(true);
            ctx.read();
        }
    }

    private void process(ChannelHandlerContext ctx, Object msg) throws Exception {
        if (closingDown) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (refusing) {
            // The rest of a request refused while draining: read and dropped.
            boolean last = msg instanceof LastHttpContent;
            ReferenceCountUtil.release(msg);
            if (last) {
                refusing = false;
                refuseWhenIdle(ctx);
            }
            return;
        }
        if (msg instanceof HttpRequest) {
            if (Drain.isDraining()) {
                Drain.requestStarted(); // the 503 still has to be written before the exit
                closeWhenIdle = true;
                boolean last = msg instanceof LastHttpContent;
                ReferenceCountUtil.release(msg);
                if (last) {
                    refuseWhenIdle(ctx);
                } else {
                    refusing = true;
                }
                return;
            }
            inFlight++;
            Drain.requestStarted();
            if (!HttpUtil.isKeepAlive((HttpRequest) msg)) {
                closeWhenIdle = true;
            }
        }
        ctx.fireChannelRead(msg);
    }

    /** Answer a request refused while draining, after the answers this connection owes. */
    private void refuseWhenIdle(ChannelHandlerContext ctx) {
        if (inFlight > 0) {
            refusalPending = true;
            return;
        }
        ctx.writeAndFlush(
                        ErrorReplies.response(
                                HttpResponseStatus.SERVICE_UNAVAILABLE,
                                "ServiceUnavailableException",
                                "The server is shutting down and takes no new requests"))
                .addListener(
                        (ChannelFutureListener)
                                future -> {
                                    Drain.requestFinished();
                                    future.channel().close();
                                });
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise)
            throws Exception {
        if (msg instanceof HttpResponse) {
            HttpResponse response = (HttpResponse) msg;
            // 1xx answers (100 Continue) are interim: the final response is still to come.
            responding = response.status().codeClass() != HttpStatusClass.INFORMATIONAL;
            if (responding) {
                if (!HttpUtil.isKeepAlive(response)) {
                    closeWhenIdle = true;
                }
                if (closeWhenIdle && inFlight <= 1) {
                    response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
                }
            }
        }
        boolean finished = responding && msg instanceof LastHttpContent;
        if (finished && promise.isVoid()) {
            promise = promise.unvoid(); // listeners are added below
        }
        ctx.write(msg, promise);
        if (!finished) {
            return;
        }
        responding = false;
        if (inFlight == 0) {
            return; // an answer to nothing this guard counted
        }
        inFlight--;
        promise.addListener((ChannelFutureListener) future -> Drain.requestFinished());
        if (inFlight > 0) {
            return;
        }
        if (refusalPending) {
            refusalPending = false;
            ctx.flush();
            refuseWhenIdle(ctx);
        } else if (closeWhenIdle) {
            promise.addListener(ChannelFutureListener.CLOSE);
        } else if (!held.isEmpty()) {
            ctx.executor().execute(() -> releaseHeld(ctx));
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        // Requests that will never be answered on this connection no longer hold up a drain.
        Drain.requestsFinished(inFlight + (refusing || refusalPending ? 1 : 0));
        inFlight = 0;
        refusing = false;
        refusalPending = false;
        while (!held.isEmpty()) {
            ReferenceCountUtil.release(held.poll());
        }
        ctx.fireChannelInactive();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
        if (evt == Drain.CLOSING) {
            closingDown = true;
            if (ctx.channel() instanceof DuplexChannel) {
                ((DuplexChannel) ctx.channel()).shutdownOutput();
            } else {
                ctx.close();
            }
            return;
        }
        if (evt == Drain.STARTED) {
            closeWhenIdle = true; // the answers still owed say Connection: close
            return;
        }
        if (evt instanceof IdleStateEvent) {
            if (inFlight == 0 && !refusing && !refusalPending) {
                ctx.close();
            }
            return;
        }
        ctx.fireUserEventTriggered(evt);
    }
}
