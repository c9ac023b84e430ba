/*
 * progress.c — the progress bar and the summary of a replay run; see progress.h.
 * The bar is redrawn in place with '\r' and erased at the end with an ANSI
 * erase-line, which is why it is only drawn on a terminal.
 */
#include "progress.h"

#include <string.h>

#define BAR_WIDTH 24

void replay_progress_init(replay_progress *p, FILE *out, uint64_t total, double now) {
    *p = (replay_progress){.out = out, .total = total, .start = now, .last_draw = -1};
}

/* "81.2k" style: three significant digits and a metric suffix. */
static void format_rate(char *buf, size_t cap, double rate) {
    if (rate >= 1e6)
        snprintf(buf, cap, "%.1fM", rate / 1e6);
    else if (rate >= 1e3)
        snprintf(buf, cap, "%.1fk", rate / 1e3);
    else
        snprintf(buf, cap, "%.0f", rate);
}

static size_t format_bar(char *buf, size_t cap, uint64_t events, uint64_t total) {
    double fraction = total ? (double)events / (double)total : 0;
    if (fraction > 1) fraction = 1;
    int filled = (int)(fraction * BAR_WIDTH);
    char bar[BAR_WIDTH + 1];
    for (int i = 0; i < BAR_WIDTH; i++) bar[i] = i < filled ? '#' : '-';
    bar[BAR_WIDTH] = '\0';
    int n = snprintf(buf, cap, "[%s] %5.1f%%  %llu/%llu events", bar, fraction * 100,
                     (unsigned long long)events, (unsigned long long)total);
    return n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
}

void replay_progress_format(char *buf, size_t cap, uint64_t events, uint64_t total,
                            double seconds) {
    double rate = seconds > 0 ? (double)events / seconds : 0;
    char rate_text[32];
    format_rate(rate_text, sizeof rate_text, rate);
    size_t len = total ? format_bar(buf, cap, events, total)
                       : (size_t)snprintf(buf, cap, "%llu events", (unsigned long long)events);
    if (len >= cap) return;
    len += (size_t)snprintf(buf + len, cap - len, "  %s ev/s", rate_text);
    if (len >= cap || !total || rate <= 0 || events > total) return;
    unsigned long long eta = (unsigned long long)((double)(total - events) / rate + 0.5);
    snprintf(buf + len, cap - len, "  ETA %llu:%02llu", eta / 60, eta % 60);
}

void replay_progress_update(replay_progress *p, uint64_t events, double now) {
    if (!p->out || (p->last_draw >= 0 && now - p->last_draw < 0.1)) return;
    char line[160];
    replay_progress_format(line, sizeof line, events, p->total, now - p->start);
    fprintf(p->out, "\r\033[2K%s", line);
    fflush(p->out);
    p->last_draw = now;
    p->drawn = true;
}

void replay_progress_finish(replay_progress *p) {
    if (!p->out || !p->drawn) return;
    fputs("\r\033[2K", p->out);
    fflush(p->out);
}

static double per_second(double amount, double seconds) {
    return seconds > 0 ? amount / seconds : 0;
}

void replay_summary_print(FILE *out, const replay_summary *s) {
    double mb = (double)s->bytes / 1e6;
    fprintf(out,
            "replay%s: %llu events (%llu delivered, %llu failed), %.2f MB in %.2f s: "
            "%.0f events/s, %.2f MB/s; %llu bad lines skipped\n",
            s->interrupted ? " (interrupted)" : "", (unsigned long long)s->events,
            (unsigned long long)s->delivered, (unsigned long long)s->failed, mb, s->seconds,
            per_second((double)s->events, s->seconds), per_second(mb, s->seconds),
            (unsigned long long)s->bad_lines);
    fflush(out);
}

/* Topic names are Kafka names ([a-zA-Z0-9._-]) but printed with escapes anyway. */
static void print_json_string(FILE *out, const char *s) {
    if (!s) {
        fputs("null", out);
        return;
    }
    fputc('"', out);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c < 0x20)
            fprintf(out, "\\u%04x", c);
        else
            fputc(c, out);
    }
    fputc('"', out);
}

void replay_summary_print_json(FILE *out, const replay_summary *s) {
    fputs("{\"source\":", out);
    print_json_string(out, s->source);
    fputs(",\"topic\":", out);
    print_json_string(out, s->topic);
    fprintf(out,
            ",\"events\":%llu,\"delivered\":%llu,\"failed\":%llu,\"bytes\":%llu,"
            "\"seconds\":%.3f,\"events_per_second\":%.1f,\"mb_per_second\":%.3f,"
            "\"bad_lines_skipped\":%llu,\"blank_lines\":%llu,\"interrupted\":%s}\n",
            (unsigned long long)s->events, (unsigned long long)s->delivered,
            (unsigned long long)s->failed, (unsigned long long)s->bytes, s->seconds,
            per_second((double)s->events, s->seconds),
            per_second((double)s->bytes / 1e6, s->seconds), (unsigned long long)s->bad_lines,
            (unsigned long long)s->blank_lines, s->interrupted ? "true" : "false");
    fflush(out);
}
