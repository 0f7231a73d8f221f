/* Live validation of one machine: rings, hooks, pause; see live.h. */
#include "live.h"

#include <errno.h>
#include <signal.h>
#include <string.h>

#include "inspect_kvm.h"
#include "out.h"
#include "abi/vmm.h"

#define PAUSE_POLL_MS 5     /* pausers and parked vCPUs re-check stop this often */

static bool stopping(struct vmm_machine *m)
{
    return __atomic_load_n(&m->stop, __ATOMIC_SEQ_CST);
}

static void timed_wait(struct vmm_machine *m)
{
    struct timespec t;

    clock_gettime(CLOCK_REALTIME, &t);
    t.tv_nsec += PAUSE_POLL_MS * 1000000L;
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&m->pcond, &m->plock, &t);
}

/* Makes vCPU i leave KVM_RUN (immediate_exit for one about to enter it). */
static void kick(struct vmm_machine *m, unsigned i)
{
    struct vmm_vcpu *v = &m->vcpus[i];

    if (v->run)
        __atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
    if (v->thread_started)
        pthread_kill(v->thread, SIGUSR1);
}

bool vmm_machine_pause(struct vmm_machine *m, int self)
{
    unsigned need = m->p->cpus - (self >= 0 ? 1u : 0u);

    pthread_mutex_lock(&m->plock);
    while (m->pausing && !stopping(m)) {     /* another pauser: park meanwhile */
        m->parked += self >= 0;
        pthread_cond_broadcast(&m->pcond);
        timed_wait(m);
        m->parked -= self >= 0;
    }
    if (stopping(m)) {
        pthread_mutex_unlock(&m->plock);
        return false;
    }
    __atomic_store_n(&m->pausing, true, __ATOMIC_SEQ_CST);
    while (m->parked + m->exited < need && !stopping(m)) {
        for (unsigned i = 0; i < m->p->cpus; i++)
            if ((int)i != self)
                kick(m, i);
        timed_wait(m);
    }
    if (stopping(m)) {
        __atomic_store_n(&m->pausing, false, __ATOMIC_SEQ_CST);
        pthread_cond_broadcast(&m->pcond);
        pthread_mutex_unlock(&m->plock);
        return false;
    }
    pthread_mutex_unlock(&m->plock);
    return true;
}

void vmm_machine_resume(struct vmm_machine *m)
{
    pthread_mutex_lock(&m->plock);
    __atomic_store_n(&m->pausing, false, __ATOMIC_SEQ_CST);
    pthread_cond_broadcast(&m->pcond);
    pthread_mutex_unlock(&m->plock);
}

void vmm_machine_park(struct vmm_machine *m, struct vmm_vcpu *v)
{
    if (__atomic_load_n(&m->pausing, __ATOMIC_SEQ_CST)) {
        pthread_mutex_lock(&m->plock);
        m->parked++;
        pthread_cond_broadcast(&m->pcond);
        while (m->pausing && !stopping(m))
            timed_wait(m);
        m->parked--;
        pthread_mutex_unlock(&m->plock);
    }
    /*
     * Clear a kick whose pause is over, also one that reached this vCPU
     * outside KVM_RUN (in a hypercall, or while it waited to pause itself):
     * left set, every KVM_RUN would return at once and the vCPU would never
     * run again. seq_cst orders the store before the caller's next load of
     * m->stop, so a stop that set immediate_exit meanwhile is still seen; a
     * kick of a pause that starts right now may be lost, and the pauser
     * kicks again every PAUSE_POLL_MS.
     */
    if (v->run && __atomic_load_n(&v->run->immediate_exit, __ATOMIC_SEQ_CST))
        __atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
}

void vmm_machine_vcpu_exited(struct vmm_machine *m)
{
    pthread_mutex_lock(&m->plock);
    m->exited++;
    pthread_cond_broadcast(&m->pcond);
    pthread_mutex_unlock(&m->plock);
}

/* ---- hooks for validate.h ------------------------------------------------ */

static bool hook_pause(void *ctx, int self) { return vmm_machine_pause(ctx, self); }
static void hook_resume(void *ctx) { vmm_machine_resume(ctx); }

static size_t hook_inspect(void *ctx, const struct tlb_validator *val,
                           const struct vmm_pa_set *written, struct vmm_mismatch *out, size_t max,
                           struct vmm_inspect_counts *counts)
{
    return vmm_inspect_machine(ctx, val, written, out, max, counts);
}

static void hook_stop(void *ctx, int status)
{
    vmm_machine_request_stop(ctx, status);
}

static void hook_exits(void *ctx, struct vmm_exit_counts *out)
{
    struct vmm_machine *m = ctx;

    memset(out, 0, sizeof(*out));
    for (unsigned i = 0; i < m->p->cpus; i++)
        for (int k = 0; k < VMM_EXITK_COUNT; k++) {
            uint64_t n = __atomic_load_n(&m->vcpus[i].exits[k], __ATOMIC_RELAXED);
            out->by[k] += n;
            out->total += n;
        }
}

static bool enabled(const struct vmm_machine *m)
{
    return m->p->validate && m->p->validate->mode == VMM_VALIDATE_TRACE;
}

int vmm_live_layout(struct vmm_machine *m, char *err, size_t errlen)
{
    memset(&m->trace, 0, sizeof(m->trace));
    pthread_mutex_init(&m->plock, NULL);
    pthread_cond_init(&m->pcond, NULL);
    if (!enabled(m))
        return 0;
    return vmm_trace_layout_compute(m->p->mem, m->p->cpus, m->p->image->hi, &m->trace, err,
                                    errlen);
}

int vmm_live_create(struct vmm_machine *m, char *err, size_t errlen)
{
    struct vmm_validate_hooks h = { m, hook_pause, hook_resume, hook_inspect, hook_stop,
                                    hook_exits };

    if (!enabled(m))
        return 0;
    vmm_trace_rings_init(m->vm.ram, &m->trace);
    m->val = vmm_validate_create(m->p->validate, m->vm.ram, m->p->mem, &m->trace, &h, err,
                                 errlen);
    if (!m->val)
        return -1;
    m->hc.trace = m->val;
    return 0;
}

void vmm_live_end(struct vmm_machine *m, struct vmm_validate_stats *stats)
{
    memset(stats, 0, sizeof(*stats));
    if (m->val) {
        vmm_validate_end(m->val, m->hc.guest_exited, &m->status);
        vmm_validate_get_stats(m->val, stats);
    }
    if (m->p->validate && m->p->validate->dump_pt && m->vcpus)
        vmm_inspect_dump_pt(m);
}

void vmm_live_destroy(struct vmm_machine *m)
{
    vmm_validate_destroy(m->val);
    m->val = NULL;
    m->hc.trace = NULL;
}
