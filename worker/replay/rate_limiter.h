/*
 * rate_limiter.h — a token bucket holding events to a rate. Time is passed in
 * (seconds on any monotonic clock), so it can be tested without sleeping.
 *
 *     replay_rate_limiter rl;
 *     replay_rate_limiter_init(&rl, 1000.0, now());
 *     double wait;
 *     while ((wait = replay_rate_limiter_take(&rl, now())) > 0) sleep_for(wait);
 */
#ifndef SR_REPLAY_RATE_LIMITER_H
#define SR_REPLAY_RATE_LIMITER_H

typedef struct replay_rate_limiter {
    double rate;     /* tokens a second; 0 = unlimited */
    double burst;    /* most tokens held: a tenth of a second's worth, at least 1 */
    double tokens;
    double last;     /* when tokens was last brought up to date */
} replay_rate_limiter;

void replay_rate_limiter_init(replay_rate_limiter *rl, double rate, double now);

/* Takes one token and returns 0 when there is one; otherwise takes nothing and
 * returns how long to wait, in seconds, before asking again. */
double replay_rate_limiter_take(replay_rate_limiter *rl, double now);

#endif
