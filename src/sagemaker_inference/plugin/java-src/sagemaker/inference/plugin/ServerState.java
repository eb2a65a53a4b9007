/*
 * Part of sagemaker-inference (Apache License 2.0).
 *
 * Read-only view of the running Multi Model Server, shared by the endpoints of this plugin.
 * Only the public serving SDK is required; two MMS internals (the set of models loaded at
 * start and the default worker count) are read by reflection so that a different MMS build
 * degrades to the configuration file instead of failing to load the plugin.
 */
package sagemaker.inference.plugin;

import java.io.IOException;
import java.io.OutputStream;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.util.Collection;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import software.amazon.ai.mms.servingsdk.Context;
import software.amazon.ai.mms.servingsdk.Model;
import software.amazon.ai.mms.servingsdk.http.Response;

final class ServerState {

    static final String MULTI_MODEL_ENV = "SAGEMAKER_MULTI_MODEL";

    private static final String MODEL_MANAGER = "com.amazonaws.ml.mms.wlm.ModelManager";
    private static final String CONFIG_MANAGER = "com.amazonaws.ml.mms.util.ConfigManager";

    private ServerState() {}

    /** SAGEMAKER_MULTI_MODEL read by the library's one boolean rule (environment.parse_bool). */
    static boolean isMultiModel() {
        String value = System.getenv(MULTI_MODEL_ENV);
        if (value == null) {
            return false;
        }
        String v = value.trim().toLowerCase(java.util.Locale.ROOT);
        return v.equals("true") || v.equals("1") || v.equals("yes") || v.equals("on");
    }

    /**
     * Names of the models MMS was asked to load at start: MMS's own record of the models it
     * registered from {@code load_models}, plus every entry of {@code load_models} written as
     * {@code name=url} (so a model whose registration failed still counts, and keeps the
     * server unready). With {@code load_models=ALL} and no MMS record, every registered model.
     */
    static Set<String> startupModelNames(Context context) {
        Set<String> names = new TreeSet<>();
        Set<String> recorded = recordedStartupModels();
        if (recorded != null) {
            names.addAll(recorded);
        }
        String loadModels = property(context.getConfig(), "load_models");
        if (loadModels == null || loadModels.trim().isEmpty()) {
            return names;
        }
        if ("ALL".equalsIgnoreCase(loadModels.trim())) {
            if (recorded == null) {
                names.addAll(context.getModels().keySet());
            }
            return names;
        }
        for (String entry : loadModels.split(",")) {
            int eq = entry.indexOf('=');
            if (eq > 0 && eq < entry.length() - 1) {
                names.add(entry.substring(0, eq).trim());
            } else if (recorded == null && !entry.trim().isEmpty()) {
                names.add(defaultModelName(entry.trim()));
            }
        }
        return names;
    }

    /** True when MMS was configured with at least one model to load at start. */
    static boolean hasConfiguredStartupModels(Context context) {
        String loadModels = property(context.getConfig(), "load_models");
        return loadModels != null && !loadModels.trim().isEmpty();
    }

    /** MMS's naming rule for a {@code load_models} entry given without a name. */
    static String defaultModelName(String url) {
        String base = url.substring(url.lastIndexOf('/') + 1);
        if ((url.contains(".mar") || url.contains(".model")) && base.lastIndexOf('.') > 0) {
            base = base.substring(0, base.lastIndexOf('.'));
        }
        return base.replaceAll("(\\W|^_)", "_");
    }

    /** Worker count MMS gives a model registered without an explicit count. */
    static int defaultWorkers(Context context) {
        Object value = invokeStatic(CONFIG_MANAGER, "getDefaultWorkers");
        if (value instanceof Integer && (Integer) value > 0) {
            return (Integer) value;
        }
        Integer configured = positiveInt(property(context.getConfig(), "default_workers_per_model"));
        if (configured != null) {
            return configured;
        }
        return Runtime.getRuntime().availableProcessors();
    }

    static long maxRequestSizeBytes(Context context) {
        Object value = invokeStatic(CONFIG_MANAGER, "getMaxRequestSize");
        if (value instanceof Integer && (Integer) value > 0) {
            return (Integer) value;
        }
        String configured = property(context.getConfig(), "max_request_size");
        if (configured != null) {
            try {
                long bytes = Long.parseLong(configured.trim());
                if (bytes > 0) {
                    return bytes;
                }
            } catch (NumberFormatException ignored) {
                // fall through to MMS's documented default
            }
        }
        return 6553500L;
    }

    static Integer positiveInt(String value) {
        if (value == null) {
            return null;
        }
        try {
            int parsed = Integer.parseInt(value.trim());
            return parsed > 0 ? parsed : null;
        } catch (NumberFormatException e) {
            return null;
        }
    }

    static String property(Properties properties, String key) {
        return properties == null ? null : properties.getProperty(key);
    }

    @SuppressWarnings("unchecked")
    private static Set<String> recordedStartupModels() {
        Object manager = invokeStatic(MODEL_MANAGER, "getInstance");
        if (manager == null) {
            return null;
        }
        try {
            Method method = manager.getClass().getMethod("getStartupModels");
            Object names = method.invoke(manager);
            if (!(names instanceof Collection)) {
                return null;
            }
            // MMS fills this set before the ports bind and never changes it afterwards.
            Set<String> copy = new TreeSet<>();
            for (Object name : (Collection<Object>) names) {
                copy.add(String.valueOf(name));
            }
            return copy;
        } catch (ReflectiveOperationException | RuntimeException e) {
            return null;
        }
    }

    private static Object invokeStatic(String className, String methodName) {
        try {
            Class<?> type = Class.forName(className);
            return type.getMethod(methodName).invoke(null);
        } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
            return null;
        }
    }

    static void writeJson(Response response, int status, Map<String, ?> body) throws IOException {
        response.setStatus(status);
        response.setContentType("application/json");
        byte[] bytes = (toJson(body) + "\n").getBytes(StandardCharsets.UTF_8);
        OutputStream out = response.getOutputStream();
        out.write(bytes);
        out.flush();
    }

    static String toJson(Object value) {
        StringBuilder sb = new StringBuilder();
        appendJson(sb, value);
        return sb.toString();
    }

    private static void appendJson(StringBuilder sb, Object value) {
        if (value == null) {
            sb.append("null");
        } else if (value instanceof Number || value instanceof Boolean) {
            sb.append(value);
        } else if (value instanceof Map) {
            sb.append('{');
            Iterator<? extends Map.Entry<?, ?>> it = ((Map<?, ?>) value).entrySet().iterator();
            while (it.hasNext()) {
                Map.Entry<?, ?> entry = it.next();
                appendString(sb, String.valueOf(entry.getKey()));
                sb.append(": ");
                appendJson(sb, entry.getValue());
                if (it.hasNext()) {
                    sb.append(", ");
                }
            }
            sb.append('}');
        } else {
            appendString(sb, String.valueOf(value));
        }
    }

    private static void appendString(StringBuilder sb, String s) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '"' || c == '\\') {
                sb.append('\\').append(c);
            } else if (c < 0x20) {
                sb.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
            } else {
                sb.append(c);
            }
        }
        sb.append('"');
    }

    static Map<String, Object> map() {
        return new LinkedHashMap<>();
    }
}
