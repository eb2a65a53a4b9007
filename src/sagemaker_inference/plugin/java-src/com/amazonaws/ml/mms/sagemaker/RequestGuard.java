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
 */
package com.amazonaws.ml.mms.sagemaker;

import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpStatusClass;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.timeout.IdleStateEvent;
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
    public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
        if (msg instanceof HttpRequest) {
            inFlight++;
            if (!HttpUtil.isKeepAlive((HttpRequest) msg)) {
                closeWhenIdle = true;
            }
        }
        ctx.fireChannelRead(msg);
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
        ctx.write(msg, promise);
        if (finished) {
            responding = false;
            inFlight = Math.max(0, inFlight - 1);
            if (closeWhenIdle && inFlight == 0) {
                promise.addListener(ChannelFutureListener.CLOSE);
            }
        }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
        if (evt instanceof IdleStateEvent) {
            if (inFlight == 0) {
                ctx.close();
            }
            return;
        }
        ctx.fireUserEventTriggered(evt);
    }
}
