/*
 * rate_limiter.c — the token bucket of rate_limiter.h. The bucket starts full
 * (a burst of at most a tenth of a second's worth), so a run starts at once, and
 * never holds more, so a pause does not turn into a flood afterwards.
 */
#include "rate_limiter.h"

void replay_rate_limiter_init(replay_rate_limiter *rl, double rate, double now) {
    rl->rate = rate > 0 ? rate : 0;
    rl->burst = rl->rate / 10 > 1 ? rl->rate / 10 : 1;
    rl->tokens = rl->burst;
    rl->last = now;
}

double replay_rate_limiter_take(replay_rate_limiter *rl, double now) {
    if (rl->rate == 0) return 0;
    if (now > rl->last) {
        rl->tokens += (now - rl->last) * rl->rate;
        if (rl->tokens > rl->burst) rl->tokens = rl->burst;
        rl->last = now;
    }
    /* The slack absorbs rounding: a caller that sleeps exactly the wait it was
     * told must get its token, not an ever smaller wait. */
    if (rl->tokens >= 1 - 1e-9) {
        rl->tokens -= 1;
        return 0;
    }
    return (1 - rl->tokens) / rl->rate;
}
