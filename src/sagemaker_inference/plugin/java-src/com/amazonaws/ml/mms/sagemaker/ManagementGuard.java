/*
 * Part of sagemaker-inference (Apache License 2.0).
 *
 * Checks a model registration (POST /models) before MMS's management handler acts on it.
 *   model_name  1 to 255 characters, letters, digits, '.', '_' and '-', starting with a letter
 *               or a digit: no path separators, "..", NUL, control or shell characters, so the
 *               name can be invoked and unloaded again and never names a path.      -> 400
 *   url         on a multi-model endpoint (SAGEMAKER_MULTI_MODEL=true): a local path that,
 *               after symlinks and ".." are resolved, lies strictly inside the models
 *               directory $SAGEMAKER_BASE_DIR/models (default /opt/ml/models); relative paths
 *               resolve against MMS's model_store as MMS resolves them. Control characters
 *               -> 400; remote URLs and paths outside the directory -> 403.
 * Like MMS, the two fields come from the JSON body when the request's Content-Type is
 * application/json and from the query string otherwise. A registration that passes gets the
 * server's batching defaults when it names no batch_size (BatchDefaults). Anything else passes
 * through untouched.
 */
package com.amazonaws.ml.mms.sagemaker;

import com.amazonaws.ml.mms.util.ConfigManager;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.InvalidPathException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

public class ManagementGuard extends ChannelInboundHandlerAdapter {

    public static final int MAX_NAME_LENGTH = 255;
    private static final Pattern SCHEME = Pattern.compile("^[A-Za-z][A-Za-z0-9+.-]*:");

    private final String modelStore;
    private final boolean multiModel;
    private final String baseDir;
    private final BatchDefaults batchDefaults;

    public ManagementGuard(ConfigManager config) {
        this(
                config.getModelStore(),
                "true".equals(trimLower(System.getenv("SAGEMAKER_MULTI_MODEL"))),
                System.getenv("SAGEMAKER_BASE_DIR"),
                BatchDefaults.fromEnvironment());
    }

    public ManagementGuard(String modelStore, boolean multiModel, String baseDir) {
        this(modelStore, multiModel, baseDir, new BatchDefaults(1, 0));
    }

    public ManagementGuard(
            String modelStore, boolean multiModel, String baseDir, BatchDefaults batchDefaults) {
        this.modelStore = modelStore == null ? "/" : modelStore;
        this.multiModel = multiModel;
        this.baseDir = baseDir == null || baseDir.isEmpty() ? "/opt/ml" : baseDir;
        this.batchDefaults = batchDefaults;
    }

    /** Why a registration is refused: the status and a one-line reason. */
    public static final class Refusal {
        public final HttpResponseStatus status;
        public final String message;

        Refusal(HttpResponseStatus status, String message) {
            this.status = status;
            this.message = message;
        }
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
        if (msg instanceof FullHttpRequest) {
            FullHttpRequest request = (FullHttpRequest) msg;
            Refusal refusal = check(request);
            if (refusal != null) {
                ReferenceCountUtil.release(msg);
                String type =
                        refusal.status.code() == 403 ? "ForbiddenException" : "BadRequestException";
                ErrorReplies.sendAndClose(ctx, refusal.status, type, refusal.message);
                return;
            }
            if (batchDefaults.enabled() && isRegistration(request)) {
                msg = batchDefaults.addToRegistration(request, jsonBody(request));
            }
        }
        ctx.fireChannelRead(msg);
    }

    private static boolean isRegistration(FullHttpRequest request) {
        if (!HttpMethod.POST.equals(request.method())) {
            return false;
        }
        String path = new QueryStringDecoder(request.uri()).path();
        while (path.length() > 1 && path.endsWith("/")) {
            path = path.substring(0, path.length() - 1);
        }
        return "/models".equals(path);
    }

    /** The JSON object body of a JSON registration (already checked), else null. */
    private static JsonObject jsonBody(FullHttpRequest request) {
        CharSequence mime = HttpUtil.getMimeType(request);
        if (mime == null || !HttpHeaderValues.APPLICATION_JSON.contentEqualsIgnoreCase(mime)) {
            return null;
        }
        return JsonParser.parseString(request.content().toString(StandardCharsets.UTF_8))
                .getAsJsonObject();
    }

    /** The refusal for this request, or null when MMS may handle it. */
    public Refusal check(FullHttpRequest request) {
        if (!HttpMethod.POST.equals(request.method())) {
            return null;
        }
        QueryStringDecoder query = new QueryStringDecoder(request.uri());
        String path = query.path();
        while (path.length() > 1 && path.endsWith("/")) {
            path = path.substring(0, path.length() - 1);
        }
        if (!"/models".equals(path)) {
            return null;
        }
        String name;
        String url;
        CharSequence mime = HttpUtil.getMimeType(request);
        if (mime != null && HttpHeaderValues.APPLICATION_JSON.contentEqualsIgnoreCase(mime)) {
            JsonObject body;
            try {
                JsonElement parsed =
                        JsonParser.parseString(request.content().toString(StandardCharsets.UTF_8));
                if (!parsed.isJsonObject()) {
                    return bad("The body of POST /models must be a JSON object");
                }
                body = parsed.getAsJsonObject();
            } catch (JsonParseException | IllegalStateException e) {
                return bad("The body of POST /models is not valid JSON");
            }
            name = stringField(body, "model_name");
            url = stringField(body, "url");
        } else {
            name = firstParameter(query, "model_name");
            url = firstParameter(query, "url");
        }
        if (name != null) {
            String problem = nameProblem(name);
            if (problem != null) {
                return bad(problem);
            }
        }
        if (url != null && multiModel) {
            return urlProblem(url);
        }
        return null;
    }

    /** Why {@code name} is not a usable model name, or null when it is. */
    public static String nameProblem(String name) {
        if (name.isEmpty()) {
            return "model_name must not be empty";
        }
        if (name.length() > MAX_NAME_LENGTH) {
            return "model_name is "
                    + name.length()
                    + " characters long; at most "
                    + MAX_NAME_LENGTH
                    + " are allowed";
        }
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            boolean alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
            if (i == 0 && !alnum) {
                return "model_name "
                        + ErrorReplies.quote(name)
                        + " must start with a letter or a digit";
            }
            if (!alnum && c != '.' && c != '_' && c != '-') {
                return "model_name "
                        + ErrorReplies.quote(name)
                        + " may only contain letters, digits, '.', '_' and '-' (found "
                        + ErrorReplies.quote(String.valueOf(c))
                        + " at position "
                        + i
                        + ")";
            }
        }
        return null;
    }

    /** The refusal for a model url on a multi-model endpoint, or null when it may be loaded. */
    public Refusal urlProblem(String url) {
        for (int i = 0; i < url.length(); i++) {
            char c = url.charAt(i);
            if (c < 0x20 || c == 0x7f) {
                return bad("url " + ErrorReplies.quote(url) + " contains a control character");
            }
        }
        Path root = modelsDirectory();
        if (url.isEmpty() || SCHEME.matcher(url).find()) {
            return forbidden(url, root);
        }
        Path resolved;
        try {
            Path given = Paths.get(url);
            if (!given.isAbsolute()) {
                given = Paths.get(modelStore).resolve(given);
            }
            resolved = realOrNormalized(given);
        } catch (InvalidPathException e) {
            return bad("url " + ErrorReplies.quote(url) + " is not a valid path");
        }
        Path realRoot = realOrNormalized(root);
        if (resolved.startsWith(realRoot) && !resolved.equals(realRoot)) {
            return null;
        }
        return forbidden(url, root);
    }

    private Path modelsDirectory() {
        return Paths.get(baseDir, "models").toAbsolutePath().normalize();
    }

    /** The path with symlinks resolved; for a path that does not exist, its normalized form. */
    static Path realOrNormalized(Path path) {
        Path absolute = path.toAbsolutePath().normalize();
        try {
            return absolute.toRealPath();
        } catch (NoSuchFileException e) {
            return absolute;
        } catch (IOException | SecurityException e) {
            return absolute;
        }
    }

    private static Refusal forbidden(String url, Path root) {
        return new Refusal(
                HttpResponseStatus.FORBIDDEN,
                "url "
                        + ErrorReplies.quote(url)
                        + " is not a directory inside the models directory "
                        + root
                        + " (checked after resolving symlinks and '..')");
    }

    private static Refusal bad(String message) {
        return new Refusal(HttpResponseStatus.BAD_REQUEST, message);
    }

    private static String stringField(JsonObject body, String key) {
        JsonElement value = body.get(key);
        if (value == null || value.isJsonNull()) {
            return null;
        }
        return value.isJsonPrimitive() ? value.getAsString() : value.toString();
    }

    private static String firstParameter(QueryStringDecoder query, String key) {
        List<String> values = query.parameters().get(key);
        return values == null || values.isEmpty() ? null : values.get(0);
    }

    private static String trimLower(String value) {
        return value == null ? "" : value.trim().toLowerCase(Locale.ROOT);
    }
}
