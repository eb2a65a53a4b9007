/*
 * Part of sagemaker-inference (Apache License 2.0).
 *
 * Replaces MMS's GET /ping, which answers 200 whatever the workers' state, with a truthful one:
 *   single-model mode: 200 only while every model loaded at start has at least one worker in
 *                      MMS's "model loaded" state; 503 while loading, after a failed load, when
 *                      all workers of a model died, or when no model was loaded at start.
 *   multi-model mode (SAGEMAKER_MULTI_MODEL=true): 200 as soon as the server answers, which is
 *                      when it accepts load requests (models come and go through POST /models).
 * Bodies: {"status": "Healthy"} or {"status": "Unhealthy", "models": {name: "r/n workers ready"}}.
 */
package sagemaker.inference.plugin;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.Set;
import software.amazon.ai.mms.servingsdk.Context;
import software.amazon.ai.mms.servingsdk.Model;
import software.amazon.ai.mms.servingsdk.ModelServerEndpoint;
import software.amazon.ai.mms.servingsdk.Worker;
import software.amazon.ai.mms.servingsdk.annotations.Endpoint;
import software.amazon.ai.mms.servingsdk.annotations.helpers.EndpointTypes;
import software.amazon.ai.mms.servingsdk.http.Request;
import software.amazon.ai.mms.servingsdk.http.Response;

@Endpoint(
        urlPattern = "ping",
        endpointType = EndpointTypes.INFERENCE,
        description = "Readiness: 200 once every startup model has a loaded worker, else 503")
public class PingEndpoint extends ModelServerEndpoint {

    @Override
    public void doGet(Request req, Response rsp, Context ctx) throws IOException {
        Map<String, Object> body = ServerState.map();
        if (ServerState.isMultiModel()) {
            body.put("status", "Healthy");
            ServerState.writeJson(rsp, 200, body);
            return;
        }
        Set<String> expected = ServerState.startupModelNames(ctx);
        Map<String, Model> models = ctx.getModels();
        Map<String, Object> detail = ServerState.map();
        boolean ready = !expected.isEmpty();
        for (String name : expected) {
            Model model = models.get(name);
            if (model == null) {
                detail.put(name, "not registered");
                ready = false;
                continue;
            }
            List<Worker> workers = model.getModelWorkers();
            int loaded = 0;
            for (Worker worker : workers) {
                if (worker.isRunning()) {
                    loaded++;
                }
            }
            detail.put(name, loaded + "/" + workers.size() + " workers ready");
            if (loaded == 0) {
                ready = false;
            }
        }
        if (ready) {
            body.put("status", "Healthy");
            ServerState.writeJson(rsp, 200, body);
            return;
        }
        body.put("status", "Unhealthy");
        if (expected.isEmpty()) {
            body.put(
                    "reason",
                    ServerState.hasConfiguredStartupModels(ctx)
                            ? "no startup model could be registered"
                            : "no model is configured to load at start");
        }
        body.put("models", detail);
        ServerState.writeJson(rsp, 503, body);
    }

    @Override
    public void doPost(Request req, Response rsp, Context ctx) throws IOException {
        methodNotAllowed(rsp);
    }

    @Override
    public void doPut(Request req, Response rsp, Context ctx) throws IOException {
        methodNotAllowed(rsp);
    }

    @Override
    public void doDelete(Request req, Response rsp, Context ctx) throws IOException {
        methodNotAllowed(rsp);
    }

    static void methodNotAllowed(Response rsp) throws IOException {
        rsp.setHeader("Allow", "GET");
        Map<String, Object> body = ServerState.map();
        body.put("code", 405);
        body.put("message", "Only GET is supported on this endpoint");
        ServerState.writeJson(rsp, 405, body);
    }
}
