/*
 * Part of sagemaker-inference (Apache License 2.0).
 *
 * MMS's body aggregator (Netty's HttpObjectAggregator with MMS's max_request_size) whose 413
 * says why: the limit in bytes and the setting that raises it. Netty's own 413 has an empty
 * body. A request whose declared or streamed body is too large is answered and its connection
 * closed; a request sent with "Expect: 100-continue" gets the same 413 instead of the go-ahead.
 */
package com.amazonaws.ml.mms.sagemaker;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.util.ReferenceCountUtil;

public class SizeLimitedAggregator extends HttpObjectAggregator {

    static final String SETTING = "SAGEMAKER_MAX_PAYLOAD_IN_MB";
    static final String TYPE = "RequestEntityTooLarge";

    private final int limit;

    public SizeLimitedAggregator(int maxContentLength) {
        super(maxContentLength);
        this.limit = maxContentLength;
    }

    /** The one-line reason of a 413 for a body of {@code declared} bytes (-1 when unknown). */
    public static String reason(long declared, int limit) {
        String size = declared >= 0 ? "of " + declared + " bytes " : "";
        return "Request body "
                + size
                + "is larger than the server's limit of "
                + limit
                + " bytes (MMS max_request_size); set "
                + SETTING
                + " to raise it (SageMaker allows up to 100)";
    }

    @Override
    protected void handleOversizedMessage(ChannelHandlerContext ctx, HttpMessage oversized)
            throws Exception {
        if (!(oversized instanceof HttpRequest)) {
            super.handleOversizedMessage(ctx, oversized);
            return;
        }
        long declared = HttpUtil.getContentLength(oversized, -1L);
        ErrorReplies.sendAndClose(
                ctx, HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE, TYPE, reason(declared, limit));
    }

    @Override
    protected Object newContinueResponse(
            HttpMessage start, int maxContentLength, ChannelPipeline pipeline) {
        Object answer = super.newContinueResponse(start, maxContentLength, pipeline);
        if (answer instanceof FullHttpResponse
                && ((FullHttpResponse) answer).status().code()
                        == HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE.code()) {
            ReferenceCountUtil.release(answer);
            long declared = HttpUtil.getContentLength(start, -1L);
            return ErrorReplies.response(
                    HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE, TYPE, reason(declared, limit));
        }
        return answer;
    }

    /** A refused "Expect: 100-continue" request says Connection: close, so do close it. */
    @Override
    protected boolean closeAfterContinueResponse(Object msg) {
        return ignoreContentAfterContinueResponse(msg);
    }
}
