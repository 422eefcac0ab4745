package dev.runnel.compat.spring;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.kafka.annotation.DltHandler;
import org.springframework.kafka.annotation.KafkaListener;
import org.springframework.kafka.annotation.RetryableTopic;
import org.springframework.kafka.core.KafkaTemplate;
import org.springframework.kafka.retrytopic.SameIntervalTopicReuseStrategy;
import org.springframework.kafka.support.SendResult;
import org.springframework.stereotype.Component;

/** The listeners; each reports what it was given. */
@Component
public class Listeners {
    private final KafkaTemplate<String, String> txTemplate;
    private final Set<String> failedOnce = ConcurrentHashMap.newKeySet();

    public Listeners(@Qualifier("txTemplate") KafkaTemplate<String, String> txTemplate) {
        this.txTemplate = txTemplate;
    }

    private static String thread() {
        return Thread.currentThread().getName();
    }

    /** Keyed records on 6 partitions, 3 consumers. */
    @KafkaListener(id = "orders", topics = SpringCompatApp.ORDERS, groupId = "spring-orders", concurrency = "3")
    public void order(ConsumerRecord<String, String> r) {
        Report.emit("ev", "order", "rec", Report.rec(r), "thread", thread());
    }

    /** The same topic with the KIP-848 consumer group protocol; started by the Driver's
     * "kip848" command (Kafka 4 clients). */
    @KafkaListener(id = "orders848", topics = SpringCompatApp.ORDERS, groupId = "spring-orders-848",
            containerFactory = "kip848Factory", autoStartup = "false", properties = "group.protocol=consumer")
    public void order848(ConsumerRecord<String, String> r) {
        Report.emit("ev", "order848", "rec", Report.rec(r), "thread", thread());
    }

    @KafkaListener(id = "events", topics = SpringCompatApp.EVENTS, groupId = "spring-events",
            containerFactory = "batchFactory")
    public void events(List<ConsumerRecord<String, String>> batch) {
        List<Object> recs = new ArrayList<>(batch.size());
        for (ConsumerRecord<String, String> r : batch) {
            recs.add(Report.rec(r));
        }
        Report.emit("ev", "batch", "recs", recs, "thread", thread());
    }

    /** Poison records fail three times (payments, payments-retry-0, payments-retry-1), one
     * second apart, and end in payments-dlt. */
    @RetryableTopic(attempts = "3", numPartitions = "2", replicationFactor = "1", kafkaTemplate = "kafkaTemplate",
            sameIntervalTopicReuseStrategy = SameIntervalTopicReuseStrategy.MULTIPLE_TOPICS)
    @KafkaListener(id = "payments", topics = SpringCompatApp.PAYMENTS, groupId = "spring-payments")
    public void payment(ConsumerRecord<String, String> r) {
        boolean poison = r.value().startsWith("poison");
        Report.emit("ev", "payment", "topic", r.topic(), "rec", Report.rec(r), "thread", thread());
        if (poison) {
            throw new IllegalArgumentException("cannot process payment " + r.value());
        }
    }

    @DltHandler
    public void paymentDlt(ConsumerRecord<String, String> r) {
        Report.emit("ev", "dlt", "topic", r.topic(), "rec", Report.rec(r), "headers", Report.headers(r));
    }

    /** Consume-transform-produce in one Kafka transaction; a "failonce" record throws on its
     * first delivery after its output was sent, so that transaction is rolled back. */
    @KafkaListener(id = "tx", topics = SpringCompatApp.TX_IN, groupId = "spring-tx", containerFactory = "txFactory",
            properties = "isolation.level=read_committed")
    public void tx(ConsumerRecord<String, String> r) throws Exception {
        CompletableFuture<SendResult<String, String>> sent =
                txTemplate.send(SpringCompatApp.TX_OUT, r.key(), "out:" + r.value());
        boolean fail = r.value().startsWith("failonce") && failedOnce.add(r.value());
        Report.emit("ev", "tx", "rec", Report.rec(r), "fail", fail, "thread", thread());
        if (fail) {
            sent.get(30, TimeUnit.SECONDS); // in the log, then aborted
            throw new IllegalStateException("failing once: " + r.value());
        }
    }

    @KafkaListener(id = "txout-rc", topics = SpringCompatApp.TX_OUT, groupId = "spring-txout-rc",
            properties = "isolation.level=read_committed")
    public void txOutCommitted(ConsumerRecord<String, String> r) {
        Report.emit("ev", "txout", "iso", "rc", "rec", Report.rec(r));
    }

    @KafkaListener(id = "txout-ru", topics = SpringCompatApp.TX_OUT, groupId = "spring-txout-ru",
            properties = "isolation.level=read_uncommitted")
    public void txOutUncommitted(ConsumerRecord<String, String> r) {
        Report.emit("ev", "txout", "iso", "ru", "rec", Report.rec(r));
    }
}
