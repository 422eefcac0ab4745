package dev.runnel.compat.spring;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.common.TopicPartition;
import org.springframework.beans.factory.DisposableBean;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Primary;
import org.springframework.kafka.config.ConcurrentKafkaListenerContainerFactory;
import org.springframework.kafka.config.TopicBuilder;
import org.springframework.kafka.core.ConsumerFactory;
import org.springframework.kafka.core.DefaultKafkaConsumerFactory;
import org.springframework.kafka.core.DefaultKafkaProducerFactory;
import org.springframework.kafka.core.KafkaTemplate;
import org.springframework.kafka.core.ProducerFactory;
import org.springframework.kafka.listener.ConsumerAwareRebalanceListener;
import org.springframework.kafka.listener.DefaultErrorHandler;
import org.springframework.kafka.listener.MessageListenerContainer;
import org.springframework.kafka.transaction.KafkaTransactionManager;

/**
 * A Spring Boot application using spring-kafka the way applications do: topics declared as
 * NewTopic beans (created by Boot's KafkaAdmin), KafkaTemplate sends, a record listener with
 * concurrency 3, a batch listener, a retryable listener with retry topics and a dead-letter
 * topic, and a transactional consume-produce listener. Consumer and producer settings come from
 * application.properties (spring.kafka.*), the broker from spring.kafka.bootstrap-servers.
 * Everything it processes is reported as JSON lines on stdout (Report); the Driver reads
 * commands on stdin.
 */
@SpringBootApplication
public class SpringCompatApp {
    public static final String ORDERS = "orders";
    public static final String EVENTS = "events";
    public static final String PAYMENTS = "payments";
    public static final String TX_IN = "tx-in";
    public static final String TX_OUT = "tx-out";

    public static void main(String[] args) {
        SpringApplication.run(SpringCompatApp.class, args);
    }

    @Bean
    NewTopic ordersTopic() {
        return TopicBuilder.name(ORDERS).partitions(6).replicas(1).build();
    }

    @Bean
    NewTopic eventsTopic() {
        return TopicBuilder.name(EVENTS).partitions(3).replicas(1).build();
    }

    @Bean
    NewTopic paymentsTopic() {
        return TopicBuilder.name(PAYMENTS).partitions(2).replicas(1).build();
    }

    @Bean
    NewTopic txInTopic() {
        return TopicBuilder.name(TX_IN).partitions(3).replicas(1).build();
    }

    @Bean
    NewTopic txOutTopic() {
        return TopicBuilder.name(TX_OUT).partitions(3).replicas(1).build();
    }

    /** Reports every assignment with the position each partition starts from. */
    @Bean
    ConsumerAwareRebalanceListener rebalanceReporter() {
        return new ConsumerAwareRebalanceListener() {
            @Override
            public void onPartitionsAssigned(Consumer<?, ?> consumer, Collection<TopicPartition> partitions) {
                Report.emit("ev", "assigned", "group", consumer.groupMetadata().groupId(), "thread",
                        Thread.currentThread().getName(), "parts", positions(consumer, partitions));
            }

            @Override
            public void onPartitionsRevokedAfterCommit(Consumer<?, ?> consumer, Collection<TopicPartition> partitions) {
                Report.emit("ev", "revoked", "group", consumer.groupMetadata().groupId(), "thread",
                        Thread.currentThread().getName(), "parts", names(partitions));
            }

            @Override
            public void onPartitionsLost(Consumer<?, ?> consumer, Collection<TopicPartition> partitions) {
                Report.emit("ev", "lost", "group", consumer.groupMetadata().groupId(), "thread",
                        Thread.currentThread().getName(), "parts", names(partitions));
            }
        };
    }

    private static List<Object> positions(Consumer<?, ?> consumer, Collection<TopicPartition> partitions) {
        List<Object> l = new ArrayList<>();
        for (TopicPartition tp : partitions) {
            l.add(List.of(tp.topic(), tp.partition(), consumer.position(tp)));
        }
        return l;
    }

    private static List<Object> names(Collection<TopicPartition> partitions) {
        List<Object> l = new ArrayList<>();
        for (TopicPartition tp : partitions) {
            l.add(List.of(tp.topic(), tp.partition()));
        }
        return l;
    }

    private static ConcurrentKafkaListenerContainerFactory<String, String> factory(
            ConsumerFactory<String, String> consumerFactory, ConsumerAwareRebalanceListener rebalance) {
        ConcurrentKafkaListenerContainerFactory<String, String> f = new ConcurrentKafkaListenerContainerFactory<>();
        f.setConsumerFactory(consumerFactory);
        f.getContainerProperties().setConsumerRebalanceListener(rebalance);
        f.getContainerProperties().setPollTimeout(500);
        f.getContainerProperties().setShutdownTimeout(5000);
        return f;
    }

    /** Record listeners (also the retry topics' containers). */
    @Bean
    ConcurrentKafkaListenerContainerFactory<String, String> kafkaListenerContainerFactory(
            ConsumerFactory<String, String> consumerFactory, ConsumerAwareRebalanceListener rebalance) {
        return factory(consumerFactory, rebalance);
    }

    @Bean
    ConcurrentKafkaListenerContainerFactory<String, String> batchFactory(
            ConsumerFactory<String, String> consumerFactory, ConsumerAwareRebalanceListener rebalance) {
        ConcurrentKafkaListenerContainerFactory<String, String> f = factory(consumerFactory, rebalance);
        f.setBatchListener(true);
        return f;
    }

    /** Containers that start a Kafka transaction for each poll, commit the offsets in it, and
     * roll it back (records sent included) when the listener throws. */
    @Bean
    ConcurrentKafkaListenerContainerFactory<String, String> txFactory(
            ConsumerFactory<String, String> consumerFactory, ConsumerAwareRebalanceListener rebalance,
            KafkaTransactionManager<String, String> txManager) {
        ConcurrentKafkaListenerContainerFactory<String, String> f = factory(consumerFactory, rebalance);
        f.getContainerProperties().setKafkaAwareTransactionManager(txManager);
        return f;
    }

    /** Consumers of the KIP-848 group protocol (group.protocol=consumer, set by the listener),
     * which refuses the classic protocol's session and heartbeat settings. A consumer error
     * (such as a broker without ConsumerGroupHeartbeat) is reported and stops the container. */
    @Bean
    ConcurrentKafkaListenerContainerFactory<String, String> kip848Factory(
            ConsumerFactory<String, String> consumerFactory, ConsumerAwareRebalanceListener rebalance) {
        Map<String, Object> props = new HashMap<>(consumerFactory.getConfigurationProperties());
        props.remove(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG);
        props.remove(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG);
        ConcurrentKafkaListenerContainerFactory<String, String> f =
                factory(new DefaultKafkaConsumerFactory<>(props), rebalance);
        f.setCommonErrorHandler(new DefaultErrorHandler() {
            @Override
            public void handleOtherException(Exception e, Consumer<?, ?> consumer, MessageListenerContainer container,
                    boolean batchListener) {
                Report.emit("ev", "consumer_error", "listener", container.getListenerId(), "error",
                        e.getClass().getName(), "message", String.valueOf(e.getMessage()));
                new Thread(container::stop, "stop-" + container.getListenerId()).start();
            }
        });
        return f;
    }

    /** Boot's producer factory (spring.kafka.producer.*) with a transactional id prefix. */
    @Bean
    KafkaTransactionManager<String, String> txManager(ProducerFactory<String, String> producerFactory) {
        DefaultKafkaProducerFactory<String, String> pf =
                new DefaultKafkaProducerFactory<>(producerFactory.getConfigurationProperties());
        pf.setTransactionIdPrefix("spring-compat-tx-");
        return new KafkaTransactionManager<>(pf);
    }

    @Bean
    @Primary
    KafkaTemplate<String, String> kafkaTemplate(ProducerFactory<String, String> producerFactory) {
        return new KafkaTemplate<>(producerFactory);
    }

    /** Sends within the listener container's transaction. */
    @Bean
    KafkaTemplate<String, String> txTemplate(KafkaTransactionManager<String, String> txManager) {
        return new KafkaTemplate<>(txManager.getProducerFactory());
    }

    /** The upstream application that writes tx-in in transactions, some of them aborted. */
    @Bean
    KafkaTemplate<String, String> upstreamTxTemplate(ProducerFactory<String, String> producerFactory) {
        DefaultKafkaProducerFactory<String, String> pf =
                new DefaultKafkaProducerFactory<>(producerFactory.getConfigurationProperties());
        pf.setTransactionIdPrefix("spring-compat-upstream-");
        return new KafkaTemplate<>(pf);
    }

    @Bean
    DisposableBean closeProducers(KafkaTransactionManager<String, String> txManager,
            KafkaTemplate<String, String> upstreamTxTemplate) {
        return () -> {
            ((DefaultKafkaProducerFactory<?, ?>) txManager.getProducerFactory()).destroy();
            ((DefaultKafkaProducerFactory<?, ?>) upstreamTxTemplate.getProducerFactory()).destroy();
        };
    }
}
