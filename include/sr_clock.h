/*
 * sr_clock.h — the two clocks streamrec reads: a monotonic one for durations
 * and deadlines, the wall clock for timestamps that leave the process.
 */
#ifndef SR_CLOCK_H
#define SR_CLOCK_H

#include <stdint.h>

/* Seconds on a clock that never jumps (CLOCK_MONOTONIC): for durations. */
double sr_monotonic_seconds(void);

/* Milliseconds on the same clock: for deadlines. */
int64_t sr_monotonic_ms(void);

/* Milliseconds since the Unix epoch (CLOCK_REALTIME): for timestamps. */
int64_t sr_wall_clock_ms(void);

/* Sleeps ms milliseconds (the whole time, also when a signal interrupts). */
void sr_sleep_ms(int64_t ms);

#endif
