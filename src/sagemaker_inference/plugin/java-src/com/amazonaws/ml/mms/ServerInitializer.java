/*
 * Part of sagemaker-inference (Apache License 2.0).
 *
 * Stand-in for Multi Model Server 1.1's channel initializer, shipped in the "patches" jar that
 * goes BEFORE model-server.jar on java's class path. It builds the same Netty pipeline as MMS's
 * own (optional TLS, HTTP codec, body aggregator, MMS's request handler chain) with the
 * library's guards added around it:
 *   - the aggregator answers an oversized body with a 413 that says what the limit is and which
 *     setting raises it (MMS's sends an empty 413);
 *   - SIGTERM drains the server: new requests get 503, those read before are answered,
 *     then the JVM exits 0 (Drain);
 *   - connections close with FIN, not with the reset MMS's SO_LINGER=0 gives;
 *   - every connection honours "Connection: close" and is closed after
 *     SAGEMAKER_KEEP_ALIVE_TIMEOUT_SECONDS without a request in flight (RequestGuard);
 *   - header values that are not ASCII are read as UTF-8, or refused with 400
 *     (HeaderCharsetGuard); MMS garbled them;
 *   - unloading a model waits for its invocations in flight, refusing new ones with 503
 *     (UnloadGate); MMS killed them ("Worker died.") or left them unanswered;
 *   - on connectors that serve the management API, POST /models is checked before MMS sees it:
 *     the model name must be a plain name and, on a multi-model endpoint, the model's url must
 *     lie inside $SAGEMAKER_BASE_DIR/models once symlinks and ".." are resolved, and a
 *     registration without batch_size gets the server's batching defaults (BatchDefaults);
 *   - the models loaded at start get those batching defaults too (MMS registers them with a
 *     batch size of 1); MMS builds this initializer after loading them, before binding.
 */
package com.amazonaws.ml.mms;

import com.amazonaws.ml.mms.http.ApiDescriptionRequestHandler;
import com.amazonaws.ml.mms.http.HttpRequestHandler;
import com.amazonaws.ml.mms.http.HttpRequestHandlerChain;
import com.amazonaws.ml.mms.http.InferenceRequestHandler;
import com.amazonaws.ml.mms.http.InvalidRequestHandler;
import com.amazonaws.ml.mms.http.ManagementRequestHandler;
import com.amazonaws.ml.mms.sagemaker.BatchDefaults;
import com.amazonaws.ml.mms.sagemaker.Drain;
import com.amazonaws.ml.mms.sagemaker.HeaderCharsetGuard;
import com.amazonaws.ml.mms.sagemaker.ManagementGuard;
import com.amazonaws.ml.mms.sagemaker.RequestGuard;
import com.amazonaws.ml.mms.sagemaker.SizeLimitedAggregator;
import com.amazonaws.ml.mms.sagemaker.UnloadGate;
import com.amazonaws.ml.mms.servingsdk.impl.PluginsManager;
import com.amazonaws.ml.mms.util.ConfigManager;
import com.amazonaws.ml.mms.util.ConnectorType;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.timeout.IdleStateHandler;

public class ServerInitializer extends ChannelInitializer<Channel> {

    private final ConnectorType connectorType;
    private final SslContext sslCtx;

    public ServerInitializer(SslContext sslCtx, ConnectorType connectorType) {
        this.sslCtx = sslCtx;
        this.connectorType = connectorType;
        Drain.install();
        BatchDefaults.fromEnvironment().applyToRegisteredModels();
    }

    @Override
    public void initChannel(Channel ch) {
        // MMS sets SO_LINGER=0 on every connection, so each close it makes (after an error, and
        // now after "Connection: close" or an idle timeout) reached the client as a reset.
        // Lingering off: a close sends what is left and then FIN.
        ch.config().setOption(ChannelOption.SO_LINGER, -1);
        ChannelPipeline pipeline = ch.pipeline();
        ConfigManager config = ConfigManager.getInstance();
        if (sslCtx != null) {
            pipeline.addLast("ssl", sslCtx.newHandler(ch.alloc()));
        }
        int idleSeconds = RequestGuard.keepAliveTimeoutSeconds();
        if (idleSeconds > 0) {
            pipeline.addLast("sagemaker-idle", new IdleStateHandler(0, 0, idleSeconds));
        }
        pipeline.addLast("http", new HttpServerCodec());
        pipeline.addLast("sagemaker-connection", new RequestGuard());
        pipeline.addLast("aggregator", new SizeLimitedAggregator(config.getMaxRequestSize()));

        pipeline.addLast("sagemaker-header-charset", new HeaderCharsetGuard());
        pipeline.addLast("sagemaker-unload-gate", new UnloadGate());

        boolean inference = servesInference();
        boolean management = servesManagement();
        if (management) {
            pipeline.addLast("sagemaker-management-guard", new ManagementGuard(config));
        }

        HttpRequestHandlerChain first = new ApiDescriptionRequestHandler(connectorType);
        HttpRequestHandlerChain last = first;
        if (inference) {
            last =
                    last.setNextHandler(
                            new InferenceRequestHandler(
                                    PluginsManager.getInstance().getInferenceEndpoints()));
        }
        if (management) {
            last =
                    last.setNextHandler(
                            new ManagementRequestHandler(
                                    PluginsManager.getInstance().getManagementEndpoints()));
        }
        last.setNextHandler(new InvalidRequestHandler());
        pipeline.addLast("handler", new HttpRequestHandler(first));
    }

    private boolean servesInference() {
        return ConnectorType.BOTH.equals(connectorType)
                || ConnectorType.INFERENCE_CONNECTOR.equals(connectorType);
    }

    private boolean servesManagement() {
        return ConnectorType.BOTH.equals(connectorType)
                || ConnectorType.MANAGEMENT_CONNECTOR.equals(connectorType);
    }
}
