/*
 * Part of sagemaker-inference (Apache License 2.0).
 *
 * GET /execution-parameters, asked by SageMaker batch transform when the job leaves these
 * settings open. Derivation:
 *   MaxPayloadInMB          SAGEMAKER_MAX_PAYLOAD_IN_MB when it is an integer 0..100 (above 100
 *                           is capped to SageMaker's limit of 100); otherwise MMS's
 *                           max_request_size in whole MiB (rounded down), at least 1, at most 100.
 *   BatchStrategy           SAGEMAKER_BATCH_STRATEGY as MULTI_RECORD or SINGLE_RECORD (spellings
 *                           MultiRecord / multi-record / MULTI_RECORD are all accepted);
 *                           otherwise SINGLE_RECORD, which every handler that serves /invocations
 *                           can take (a multi-record body needs an input_fn that splits records).
 *   MaxConcurrentTransforms SAGEMAKER_MAX_CONCURRENT_TRANSFORMS when it is a positive integer;
 *                           otherwise the number of workers serving the model (the smallest worker
 *                           count among the models loaded at start; MMS's default worker count in
 *                           multi-model mode or when none is known), lowered if needed so that
 *                           MaxConcurrentTransforms * MaxPayloadInMB stays within 100 MB.
 * An explicit SAGEMAKER_MAX_CONCURRENT_TRANSFORMS is never lowered.
 */
package sagemaker.inference.plugin;

import java.io.IOException;
import java.util.Locale;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.ai.mms.servingsdk.Context;
import software.amazon.ai.mms.servingsdk.Model;
import software.amazon.ai.mms.servingsdk.ModelServerEndpoint;
import software.amazon.ai.mms.servingsdk.annotations.Endpoint;
import software.amazon.ai.mms.servingsdk.annotations.helpers.EndpointTypes;
import software.amazon.ai.mms.servingsdk.http.Request;
import software.amazon.ai.mms.servingsdk.http.Response;

@Endpoint(
        urlPattern = "execution-parameters",
        endpointType = EndpointTypes.INFERENCE,
        description = "Batch transform execution parameters")
public class ExecutionParametersEndpoint extends ModelServerEndpoint {

    static final String MAX_CONCURRENT_TRANSFORMS_ENV = "SAGEMAKER_MAX_CONCURRENT_TRANSFORMS";
    static final String BATCH_STRATEGY_ENV = "SAGEMAKER_BATCH_STRATEGY";
    static final String MAX_PAYLOAD_ENV = "SAGEMAKER_MAX_PAYLOAD_IN_MB";
    static final int SAGEMAKER_PAYLOAD_LIMIT_MB = 100;

    private static final Logger LOGGER = LoggerFactory.getLogger("sagemaker-inference.plugin");

    /** The environment does not change while the JVM runs: read and validate it once. */
    private static final class EnvSettings {
        static final Integer CONCURRENCY = concurrency(System.getenv(MAX_CONCURRENT_TRANSFORMS_ENV));
        static final String STRATEGY = strategy(System.getenv(BATCH_STRATEGY_ENV));
        static final Integer PAYLOAD_MB = payload(System.getenv(MAX_PAYLOAD_ENV));
    }

    @Override
    public void doGet(Request req, Response rsp, Context ctx) throws IOException {
        int payloadMb =
                EnvSettings.PAYLOAD_MB != null
                        ? EnvSettings.PAYLOAD_MB
                        : derivedPayloadMb(ServerState.maxRequestSizeBytes(ctx));
        int concurrency;
        if (EnvSettings.CONCURRENCY != null) {
            concurrency = EnvSettings.CONCURRENCY;
        } else {
            concurrency = capToPayloadLimit(workerCount(ctx), payloadMb);
        }
        Map<String, Object> body = ServerState.map();
        body.put("MaxConcurrentTransforms", concurrency);
        body.put("BatchStrategy", EnvSettings.STRATEGY);
        body.put("MaxPayloadInMB", payloadMb);
        ServerState.writeJson(rsp, 200, body);
    }

    @Override
    public void doPost(Request req, Response rsp, Context ctx) throws IOException {
        PingEndpoint.methodNotAllowed(rsp);
    }

    @Override
    public void doPut(Request req, Response rsp, Context ctx) throws IOException {
        PingEndpoint.methodNotAllowed(rsp);
    }

    @Override
    public void doDelete(Request req, Response rsp, Context ctx) throws IOException {
        PingEndpoint.methodNotAllowed(rsp);
    }

    static int workerCount(Context ctx) {
        if (!ServerState.isMultiModel()) {
            Map<String, Model> models = ctx.getModels();
            int smallest = 0;
            for (String name : ServerState.startupModelNames(ctx)) {
                Model model = models.get(name);
                int size = model == null ? 0 : model.getModelWorkers().size();
                if (size > 0 && (smallest == 0 || size < smallest)) {
                    smallest = size;
                }
            }
            if (smallest > 0) {
                return smallest;
            }
        }
        return Math.max(1, ServerState.defaultWorkers(ctx));
    }

    static int derivedPayloadMb(long maxRequestSizeBytes) {
        long mb = maxRequestSizeBytes / (1024L * 1024L);
        return (int) Math.max(1L, Math.min(SAGEMAKER_PAYLOAD_LIMIT_MB, mb));
    }

    static int capToPayloadLimit(int concurrency, int payloadMb) {
        if (payloadMb <= 0) {
            return Math.max(1, concurrency);
        }
        return Math.max(1, Math.min(concurrency, SAGEMAKER_PAYLOAD_LIMIT_MB / payloadMb));
    }

    static Integer concurrency(String raw) {
        if (raw == null || raw.trim().isEmpty()) {
            return null;
        }
        Integer value = ServerState.positiveInt(raw);
        if (value == null) {
            LOGGER.warn(
                    "Ignoring {}={}: not a positive integer; using the worker count",
                    MAX_CONCURRENT_TRANSFORMS_ENV,
                    raw);
        }
        return value;
    }

    static String strategy(String raw) {
        if (raw == null || raw.trim().isEmpty()) {
            return "SINGLE_RECORD";
        }
        String key = raw.trim().toUpperCase(Locale.ROOT).replace("_", "").replace("-", "");
        if ("MULTIRECORD".equals(key)) {
            return "MULTI_RECORD";
        }
        if ("SINGLERECORD".equals(key)) {
            return "SINGLE_RECORD";
        }
        LOGGER.warn(
                "Ignoring {}={}: expected MULTI_RECORD or SINGLE_RECORD; using SINGLE_RECORD",
                BATCH_STRATEGY_ENV,
                raw);
        return "SINGLE_RECORD";
    }

    static Integer payload(String raw) {
        if (raw == null || raw.trim().isEmpty()) {
            return null;
        }
        try {
            int value = Integer.parseInt(raw.trim());
            if (value >= 0) {
                if (value > SAGEMAKER_PAYLOAD_LIMIT_MB) {
                    LOGGER.warn(
                            "{}={} is above SageMaker's limit; reporting {}",
                            MAX_PAYLOAD_ENV,
                            raw,
                            SAGEMAKER_PAYLOAD_LIMIT_MB);
                    return SAGEMAKER_PAYLOAD_LIMIT_MB;
                }
                return value;
            }
        } catch (NumberFormatException ignored) {
            // warned below
        }
        LOGGER.warn(
                "Ignoring {}={}: not an integer 0..{}; using max_request_size",
                MAX_PAYLOAD_ENV,
                raw,
                SAGEMAKER_PAYLOAD_LIMIT_MB);
        return null;
    }
}
