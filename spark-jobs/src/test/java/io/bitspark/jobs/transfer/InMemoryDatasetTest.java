package io.bitspark.jobs.transfer;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Test;

class InMemoryDatasetTest {

    static InMemoryDataset withClasses(String... names) {
        return new InMemoryDataset(List.of(), List.of(names), false, "sha256:x", 32, 32);
    }

    /** finetune/fewshot --eval-data and evaluate: another class order or another class set is refused, naming where. */
    @Test
    void classesMustMatchInOrder() {
        withClasses("a", "b", "c").requireClasses(List.of("a", "b", "c"), "train", "eval");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> withClasses("a", "c", "b").requireClasses(List.of("a", "b", "c"), "ds (--data)", "ev (--eval-data)"));
        assertTrue(e.getMessage().contains("the classes of ev (--eval-data) differ from those of ds (--data) (class 1 is 'b' there and 'c' here"),
                e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> withClasses("a", "b").requireClasses(List.of("a", "b", "c"), "x", "y"));
        assertTrue(e.getMessage().contains("3 classes there, 2 here"), e.getMessage());
    }
}
