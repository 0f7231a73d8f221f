/* The accessed/dirty probe (scenarios/ad_probe.h). */
#include "ad_probe.h"

#include "guest/layout.h"
#include "guest/printf.h"
#include "guest/user_task.h"

static void clear_write(struct pt_prop *p, void *arg)
{
    (void)arg;
    p->flags &= (uint8_t)~PT_W;
}

int ad_probe_query(struct vm_space *vs, uint64_t va, struct vm_query *q)
{
    struct vm_cursor c;
    int err = vm_space_cursor(vs, va, va + PAGE_SIZE, &c);
    if (err)
        return err;
    err = vm_cursor_query(&c, q);
    vm_cursor_drop(&c);
    return err;
}

bool ad_probe_expect(struct vm_space *vs, uint64_t va, const char *name, bool a, bool d, int w,
                     ad_report_fn report, void *arg)
{
    struct vm_query q;
    char detail[160];
    int err = ad_probe_query(vs, va, &q);
    if (err || !q.mapped) {
        ksnprintf(detail, sizeof(detail), "page %#llx: query error %d, mapped %d",
                  (unsigned long long)va, err, err ? 0 : q.mapped);
        report(arg, name, false, detail);
        return false;
    }
    bool qa = q.prop.flags & PT_ACCESSED, qd = q.prop.flags & PT_DIRTY,
         qw = q.prop.flags & PT_W;
    bool ok = qa == a && qd == d && (w < 0 || qw == (w > 0));
    ksnprintf(detail, sizeof(detail), "page %#llx: A %d D %d W %d (expected A %d D %d%s)",
              (unsigned long long)va, qa, qd, qw, a, d, w < 0 ? "" : w ? " W 1" : " W 0");
    report(arg, name, ok, detail);
    return ok;
}

/* Step 1: the task and the three data pages, none accessed or dirty yet.
 * Returns the A/D checks that held; *loaded says whether the task can run. */
static unsigned load(struct vm_space *vs, uint64_t base, struct user_task *t, bool *loaded,
                     ad_report_fn report, void *arg)
{
    struct user_prog prog = USER_PROG(copyword);
    char detail[96];
    int err = user_task_load_at(t, vs, &prog, base + AD_CODE, base + AD_STACK, base + AD_READ,
                                base + AD_WRITE, 0);
    static const uint64_t data[] = { AD_READ, AD_WRITE, AD_IDLE };
    for (unsigned i = 0; i < 3 && err == 0; i++)
        err = user_map_zeroed(vs, base + data[i], 1, PT_RW);
    *loaded = err == 0;
    if (err) {
        ksnprintf(detail, sizeof(detail), "loading copyword and its pages: error %d", err);
        report(arg, "load", false, detail);
        return 0;
    }
    static const struct { uint64_t off; const char *name; } pages[] = {
        { AD_CODE, "mapped.code" }, { AD_READ, "mapped.read" },
        { AD_WRITE, "mapped.write" }, { AD_IDLE, "mapped.idle" },
    };
    unsigned held = 0;
    for (unsigned i = 0; i < 4; i++)
        held += ad_probe_expect(vs, base + pages[i].off, pages[i].name, false, false, -1, report,
                                arg);
    return held;
}

/* Step 2: the word into the read page through the linear map, the task in
 * ring 3, the copy checked through the linear map. */
static void run_task(struct vm_space *vs, uint64_t base, struct user_task *t, uint64_t word,
                     ad_report_fn report, void *arg)
{
    struct vm_query rq, wq;
    char detail[160];
    int err = ad_probe_query(vs, base + AD_READ, &rq);
    if (err == 0)
        err = ad_probe_query(vs, base + AD_WRITE, &wq);
    if (err || !rq.mapped || !wq.mapped) {
        ksnprintf(detail, sizeof(detail), "query of the data pages: error %d", err);
        report(arg, "task", false, detail);
        return;
    }
    *(volatile uint64_t *)vm_frame_ptr(rq.pa) = word;
    while (user_task_run(t) == USER_TASK_READY)
        ;
    uint64_t got = *(volatile uint64_t *)vm_frame_ptr(wq.pa);
    ksnprintf(detail, sizeof(detail), "copyword %s with status %lld, copied %#llx (expected "
              "exited 0, %#llx)", t->state == USER_TASK_EXITED ? "exited" : "did not exit",
              (long long)t->exit_status, (unsigned long long)got, (unsigned long long)word);
    report(arg, "task", t->state == USER_TASK_EXITED && t->exit_status == 0 && got == word,
           detail);
}

/* Step 3: write-protect the data pages; returns the A/D checks that held. */
static unsigned protect(struct vm_space *vs, uint64_t base, ad_report_fn report, void *arg)
{
    struct vm_cursor c;
    uint64_t changed = 0;
    char detail[96];
    int err = vm_space_cursor_mut(vs, base + AD_READ, base + AD_IDLE + PAGE_SIZE, &c);
    if (err == 0) {
        err = vm_cursor_protect(&c, AD_IDLE + PAGE_SIZE - AD_READ, clear_write, NULL, &changed);
        vm_cursor_drop(&c);
    }
    ksnprintf(detail, sizeof(detail), "error %d, %llu pages changed (expected 3)", err,
              (unsigned long long)changed);
    report(arg, "protect", err == 0 && changed == 3, detail);
    return ad_probe_expect(vs, base + AD_READ, "protected.read", true, false, 0, report, arg) +
           ad_probe_expect(vs, base + AD_WRITE, "protected.write", true, true, 0, report, arg) +
           ad_probe_expect(vs, base + AD_IDLE, "protected.idle", false, false, 0, report, arg);
}

unsigned ad_probe_run(struct vm_space *vs, uint64_t base, uint64_t word, ad_report_fn report,
                      void *arg)
{
    struct user_task t;
    bool loaded;
    unsigned held = load(vs, base, &t, &loaded, report, arg);
    if (!loaded)
        return held;
    run_task(vs, base, &t, word, report, arg);
    held += ad_probe_expect(vs, base + AD_CODE, "ring3.code", true, false, -1, report, arg);
    held += ad_probe_expect(vs, base + AD_READ, "ring3.read", true, false, -1, report, arg);
    held += ad_probe_expect(vs, base + AD_WRITE, "ring3.write", true, true, -1, report, arg);
    held += ad_probe_expect(vs, base + AD_IDLE, "ring3.idle", false, false, -1, report, arg);
    return held + protect(vs, base, report, arg);
}

bool ad_probe_unmap(struct vm_space *vs, uint64_t base, uint64_t frames, ad_report_fn report,
                    void *arg)
{
    struct vm_cursor c;
    uint64_t n = 0;
    char detail[96];
    int err = vm_space_cursor_mut(vs, base, base + AD_PROBE_SPAN, &c);
    if (err == 0) {
        err = vm_cursor_unmap(&c, AD_PROBE_SPAN, &n);
        vm_cursor_drop(&c);
    }
    bool ok = err == 0 && n == frames;
    ksnprintf(detail, sizeof(detail), "error %d, %llu frames unmapped (expected %llu)", err,
              (unsigned long long)n, (unsigned long long)frames);
    report(arg, "unmap", ok, detail);
    return ok;
}
