/*
 * What this machine's memory costs a graph walk: a random read whose address depends on the
 * previous one, an independent random read, and the first touch of fresh memory, each with
 * 4 KiB pages and with transparent huge pages (asked for with madvise). The README's Speed
 * section quotes it.
 *
 *   gcc -O2 -o /tmp/memory-latency benches/memory-latency.c
 *   /tmp/memory-latency 1024          # a 1 GiB array, both page sizes
 *   /tmp/memory-latency 1024 4        # the same, 4 s idle before each touch
 *
 * The pause matters on a VM that hands freed memory back to its host (virtio-balloon free
 * page reporting): huge pages come from the free 2 MiB blocks such a VM reports, and touching
 * one again waits on the host.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define HUGE_PAGE ((size_t)2 << 20)
#define STEPS 20000000u

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static uint64_t next_random(uint64_t *state) {
    *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
    return *state >> 17;
}

static void measure(size_t mib, int huge, unsigned pause) {
    size_t count = (mib << 20) / sizeof(uint64_t);
    size_t bytes = count * sizeof(uint64_t);
    char *raw = mmap(NULL, bytes + HUGE_PAGE, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) {
        perror("mmap");
        exit(2);
    }
    uint64_t *a = (uint64_t *)(((uintptr_t)raw + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1));
    madvise(a, bytes, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
    if (pause)
        sleep(pause);

    double t = now();
    for (size_t i = 0; i < count; i++)
        a[i] = i;
    double touch = now() - t;

    /* One random cycle through every element (Sattolo's shuffle), so that each read's
     * address is the value the previous read returned. */
    uint64_t state = 42;
    for (size_t i = count - 1; i > 0; i--) {
        size_t j = next_random(&state) % i;
        uint64_t x = a[i];
        a[i] = a[j];
        a[j] = x;
    }
    uint64_t at = 0;
    t = now();
    for (unsigned s = 0; s < STEPS; s++)
        at = a[at];
    double dependent = now() - t;

    uint64_t sum = 0;
    t = now();
    for (unsigned s = 0; s < STEPS; s++)
        sum += a[next_random(&state) % count];
    double independent = now() - t;

    printf("%zu MiB, %s pages: first touch %.2f s per GiB, dependent read %.0f ns, "
           "independent read %.1f ns (%llu)\n",
           mib, huge ? "huge" : "4 KiB", touch / ((double)bytes / (1 << 30)),
           dependent / STEPS * 1e9, independent / STEPS * 1e9,
           (unsigned long long)(at ^ sum) % 10);
    munmap(raw, bytes + HUGE_PAGE);
}

int main(int argc, char **argv) {
    size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 1024;
    unsigned pause = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 0;
    if (mib == 0) {
        fprintf(stderr, "usage: %s [MiB] [seconds idle before each touch]\n", argv[0]);
        return 2;
    }
    for (int round = 0; round < 2; round++) {
        measure(mib, 0, pause);
        measure(mib, 1, pause);
    }
    return 0;
}
