/*
 * Part of sagemaker-inference (Apache License 2.0).
 *
 * Graceful stop of the Java front end on SIGTERM (which the JVM would otherwise turn into an
 * immediate exit, resetting every open request). Installed by the patched ServerInitializer:
 *   - from the signal on, every new request on any connection (GET /ping included) is answered
 *     503 with Connection: close (RequestGuard), and connections close after the answer they
 *     are waiting for;
 *   - requests read before the signal are answered as usual;
 *   - once no request is in flight (and no 503 is still being written) the listeners close,
 *     every connection is ended with FIN (what clients still send is read and dropped, for at
 *     most half a second, so they see a closed connection rather than a reset) and the JVM
 *     exits with 0.
 * The supervisor sends the SIGTERM and kills the JVM if it is still running when the grace
 * period ends. sun.misc.Signal is reached by reflection, so the class compiles for Java 8 and
 * a JVM without it keeps its default SIGTERM handling (a warning says so).
 */
package com.amazonaws.ml.mms.sagemaker;

import io.netty.channel.Channel;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

public final class Drain {

    /** User event fired on every open connection when the drain starts. */
    public static final Object STARTED = new Object();

    private static final Logger LOGGER = LoggerFactory.getLogger(Drain.class);
    private static final long POLL_MILLIS = 20;

    private static final AtomicBoolean INSTALLED = new AtomicBoolean();
    private static final AtomicBoolean DRAINING = new AtomicBoolean();
    /** Requests read and not yet answered, plus 503 refusals still being written. */
    private static final AtomicInteger IN_FLIGHT = new AtomicInteger();

    private static final ChannelGroup CONNECTIONS =
            new DefaultChannelGroup("sagemaker-connections", GlobalEventExecutor.INSTANCE);
    private static final ChannelGroup LISTENERS =
            new DefaultChannelGroup("sagemaker-listeners", GlobalEventExecutor.INSTANCE);
    /** User event fired on every open connection just before the JVM exits. */
    public static final Object CLOSING = new Object();
    /** How long clients get to see their connections end before the JVM exits. */
    private static final long CLOSE_WAIT_MILLIS = 500;

    private Drain() {}

    /** Take over SIGTERM (once per JVM). */
    public static void install() {
        if (!INSTALLED.compareAndSet(false, true)) {
            return;
        }
        try {
            Class<?> signalClass = Class.forName("sun.misc.Signal");
            Class<?> handlerClass = Class.forName("sun.misc.SignalHandler");
            Object signal = signalClass.getConstructor(String.class).newInstance("TERM");
            InvocationHandler onSignal =
                    (Object proxy, Method method, Object[] args) -> {
                        if (method.getDeclaringClass() == Object.class) {
                            return objectMethod(proxy, method, args);
                        }
                        start();
                        return null;
                    };
            Object handler =
                    Proxy.newProxyInstance(
                            handlerClass.getClassLoader(), new Class<?>[] {handlerClass}, onSignal);
            signalClass.getMethod("handle", signalClass, handlerClass).invoke(null, signal, handler);
        } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
            LOGGER.warn(
                    "Cannot take over SIGTERM ({}); the server stops without draining requests", e);
        }
    }

    private static Object objectMethod(Object proxy, Method method, Object[] args) {
        switch (method.getName()) {
            case "equals":
                return proxy == args[0];
            case "hashCode":
                return System.identityHashCode(proxy);
            default:
                return "sagemaker-inference SIGTERM drain";
        }
    }

    public static boolean isDraining() {
        return DRAINING.get();
    }

    static void register(Channel channel) {
        CONNECTIONS.add(channel);
        if (channel.parent() != null) {
            LISTENERS.add(channel.parent());
        }
        if (DRAINING.get()) {
            channel.pipeline().fireUserEventTriggered(STARTED);
        }
    }

    static void requestStarted() {
        IN_FLIGHT.incrementAndGet();
    }

    static void requestFinished() {
        IN_FLIGHT.decrementAndGet();
    }

    static void requestsFinished(int count) {
        if (count > 0) {
            IN_FLIGHT.addAndGet(-count);
        }
    }

    /** Begin draining: refuse new requests, then exit once the in-flight ones are answered. */
    public static void start() {
        if (!DRAINING.compareAndSet(false, true)) {
            return;
        }
        LOGGER.info(
                "SIGTERM: refusing new requests, {} request(s) in flight to finish",
                IN_FLIGHT.get());
        for (Channel channel : CONNECTIONS) {
            channel.pipeline().fireUserEventTriggered(STARTED);
        }
        Thread waiter = new Thread(Drain::exitWhenIdle, "sagemaker-drain");
        waiter.setDaemon(true);
        waiter.start();
    }

    private static void exitWhenIdle() {
        try {
            while (IN_FLIGHT.get() > 0) {
                Thread.sleep(POLL_MILLIS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        LOGGER.info("All requests answered; stopping the model server");
        // Stop accepting, then end each connection with FIN while still reading what its client
        // sends, so that a request sent at the last moment sees a closed connection, not a reset.
        LISTENERS.close().awaitUninterruptibly(CLOSE_WAIT_MILLIS);
        for (Channel channel : CONNECTIONS) {
            channel.pipeline().fireUserEventTriggered(CLOSING);
        }
        long deadline = System.nanoTime() + CLOSE_WAIT_MILLIS * 1_000_000L;
        try {
            while (!CONNECTIONS.isEmpty() && System.nanoTime() < deadline) {
                Thread.sleep(POLL_MILLIS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        System.exit(0);
    }
}
