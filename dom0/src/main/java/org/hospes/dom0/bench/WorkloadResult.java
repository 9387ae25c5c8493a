package org.hospes.dom0.bench;

import java.util.List;

/**
 * What one of {@code hospes bench}'s wall-clock workloads (the Linux boot, start-up) measured:
 * its table, its rows for {@code --csv}/{@code --json}, its notes, and whether every run did
 * what it should (reached its marker, ended with the expected status).
 */
record WorkloadResult(List<String> table, List<BenchRow> rows, List<String> notes, boolean ok) {
  WorkloadResult {
    table = List.copyOf(table);
    rows = List.copyOf(rows);
    notes = List.copyOf(notes);
  }
}
