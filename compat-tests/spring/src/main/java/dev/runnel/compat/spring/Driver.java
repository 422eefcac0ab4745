package dev.runnel.compat.spring;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.common.utils.AppInfoParser;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.SpringBootVersion;
import org.springframework.boot.context.event.ApplicationReadyEvent;
import org.springframework.context.ApplicationListener;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.kafka.config.KafkaListenerEndpointRegistry;
import org.springframework.kafka.core.KafkaTemplate;
import org.springframework.kafka.support.SendResult;
import org.springframework.stereotype.Component;

/**
 * Reads commands on stdin once the application is ready:
 *   produce PHASE COUNT PAUSE_MS  sends COUNT orders (keys k0..k11), COUNT/2 events (keys e0..e4),
 *                                 COUNT/10 payments (every fourth a poison record) and, every 40
 *                                 orders, a transaction of 5 records to tx-in (every fourth
 *                                 transaction aborted), pausing PAUSE_MS every 10 orders; then
 *                                 waits for every acknowledgement and reports "sent".
 *   start LISTENER_ID             starts a listener container that does not start by itself.
 *   quit                          closes the application context and exits.
 */
@Component
public class Driver implements ApplicationListener<ApplicationReadyEvent> {
    private final KafkaTemplate<String, String> template;
    private final KafkaTemplate<String, String> upstream;

    private final KafkaListenerEndpointRegistry registry;

    public Driver(@Qualifier("kafkaTemplate") KafkaTemplate<String, String> template,
            @Qualifier("upstreamTxTemplate") KafkaTemplate<String, String> upstream,
            KafkaListenerEndpointRegistry registry) {
        this.template = template;
        this.upstream = upstream;
        this.registry = registry;
    }

    @Override
    public void onApplicationEvent(ApplicationReadyEvent event) {
        ConfigurableApplicationContext ctx = event.getApplicationContext();
        Report.emit("ev", "started", "boot", SpringBootVersion.getVersion(), "spring_kafka",
                KafkaTemplate.class.getPackage().getImplementationVersion(), "kafka_clients",
                AppInfoParser.getVersion(), "java", System.getProperty("java.version"));
        Thread t = new Thread(() -> commands(ctx), "driver");
        t.start();
    }

    private void commands(ConfigurableApplicationContext ctx) {
        try (BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
            String line;
            while ((line = in.readLine()) != null) {
                String[] w = line.trim().split("\\s+");
                if (w[0].equals("produce") && w.length == 4) {
                    produce(w[1], Integer.parseInt(w[2]), Integer.parseInt(w[3]));
                } else if (w[0].equals("start") && w.length == 2) {
                    registry.getListenerContainer(w[1]).start();
                    Report.emit("ev", "container_started", "listener", w[1]);
                } else if (w[0].equals("quit")) {
                    break;
                } else if (!w[0].isEmpty()) {
                    Report.emit("ev", "error", "message", "unknown command: " + line);
                }
            }
        } catch (Exception e) {
            Report.emit("ev", "error", "message", e.toString());
        }
        int rc = SpringApplication.exit(ctx);
        Report.emit("ev", "exit", "status", rc);
        System.exit(rc);
    }

    private static final class AbortTransaction extends RuntimeException {
        AbortTransaction() {
            super("aborted on purpose");
        }
    }

    private void produce(String phase, int count, int pauseMs) throws InterruptedException {
        List<CompletableFuture<SendResult<String, String>>> sends = new ArrayList<>();
        List<Object> transactions = new ArrayList<>();
        int txNo = 0;
        for (int i = 0; i < count; i++) {
            sends.add(template.send(SpringCompatApp.ORDERS, "k" + (i % 12), phase + "-" + i));
            if (i % 2 == 0) {
                sends.add(template.send(SpringCompatApp.EVENTS, "e" + (i % 5), phase + "-" + i));
            }
            if (i % 10 == 0) {
                int j = i / 10;
                String v = (j % 4 == 3 ? "poison-" : "ok-") + phase + "-" + j;
                sends.add(template.send(SpringCompatApp.PAYMENTS, "p" + (j % 3), v));
            }
            if (i % 40 == 39) {
                transactions.add(transaction(phase, ++txNo));
            }
            if (i % 10 == 9) {
                Report.emit("ev", "progress", "phase", phase, "i", i + 1);
                Thread.sleep(pauseMs);
            }
        }
        List<Object> errors = new ArrayList<>();
        for (CompletableFuture<SendResult<String, String>> f : sends) {
            try {
                f.get(150, TimeUnit.SECONDS);
            } catch (Exception e) {
                errors.add(e.toString());
            }
        }
        Report.emit("ev", "sent", "phase", phase, "count", count, "sends", sends.size(), "errors", errors,
                "transactions", transactions);
    }

    /** Five records to tx-in in one transaction of the upstream producer. */
    private Map<String, Object> transaction(String phase, int txNo) {
        boolean abort = txNo % 4 == 0;
        List<String> values = new ArrayList<>();
        for (int k = 0; k < 5; k++) {
            String kind = abort ? "abort" : (k == 2 && txNo % 2 == 1 ? "failonce" : "tx");
            values.add(kind + "-" + phase + "-" + txNo + "-" + k);
        }
        String outcome;
        try {
            upstream.executeInTransaction(t -> {
                for (int k = 0; k < values.size(); k++) {
                    t.send(SpringCompatApp.TX_IN, "t" + ((txNo * 5 + k) % 7), values.get(k));
                }
                if (abort) {
                    throw new AbortTransaction();
                }
                return null;
            });
            outcome = "committed";
        } catch (AbortTransaction e) {
            outcome = "aborted";
        } catch (Exception e) {
            outcome = "failed: " + e;
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("n", txNo);
        m.put("outcome", outcome);
        m.put("values", values);
        return m;
    }
}
