// SPDX-License-Identifier: GPL-2.0
/*
 * Running an ESP request's AEAD, one of three ways:
 *
 * ordered   the packet joins its SA's release queue (order.c); its crypto
 *           runs inline or on another CPU (parallel.c), synchronously or
 *           not, and it is released in the order packets entered. Early
 *           output (type->output()) and input: the core takes
 *           -EINPROGRESS and resumes.
 * direct    no queue: inline, and if the AEAD goes asynchronous the
 *           packet is released when it completes. Output at device
 *           transmit to a device without a qdisc, where a packet held
 *           back would look lost to the sender (see esp_offload.c).
 * segment   one of a GSO packet's segments, encrypted inline or by
 *           another CPU while the caller waits for the whole batch
 *           (esp_offload.c); see esp_seg_state.
 *
 * Requests may backlog (CRYPTO_TFM_REQ_MAY_BACKLOG): a full asynchronous
 * queue holds them rather than refusing them, and the SA's in-flight bound
 * (espah_max_inflight) is what limits the memory held.
 */
#include <crypto/aead.h>

#include "esp.h"
#include "stats.h"

static const enum espah_path esp_async_path[] = {
	[ESPAH_TX] = ESPAH_TX_ASYNC, [ESPAH_RX] = ESPAH_RX_ASYNC,
};

static const enum espah_path esp_parallel_path[] = {
	[ESPAH_TX] = ESPAH_TX_PARALLEL, [ESPAH_RX] = ESPAH_RX_PARALLEL,
};

static const enum espah_drop esp_overload_drop[] = {
	[ESPAH_TX] = ESPAH_TX_OVERLOAD, [ESPAH_RX] = ESPAH_RX_OVERLOAD,
};

static struct espah_order *esp_order(const struct esp_req *req)
{
	return &req->sa->order[req->dir];
}

static espah_release_t esp_release_of(enum espah_dir dir)
{
	return dir == ESPAH_TX ? esp_output_release : esp_input_release;
}

/* The crypto of @req is done (req->result set): hand it on. */
static void esp_crypt_complete(struct esp_req *req)
{
	if (req->flags & ESP_REQ_SEGMENT)
		esp_seg_complete(req);
	else if (req->flags & ESP_REQ_DIRECT)
		req->order.release(&req->order);
	else
		espah_order_done(esp_order(req), &req->order, false);
}

static void esp_crypt_done(void *data, int err)
{
	struct esp_req *req = data;

	/* A backlogged request just moved into the queue: not done yet. */
	if (err == -EINPROGRESS)
		return;
	req->result = err;
	esp_crypt_complete(req);
}

ESPAH_CRYPTO_DONE(esp_crypt_done)

/* Starts the AEAD; -EINPROGRESS when the completion will follow. */
static int esp_crypt_submit(struct esp_req *req)
{
	int err;

	if (req->flags & ESP_REQ_NO_CRYPTO)
		return 0;
	aead_request_set_callback(req->aead, CRYPTO_TFM_REQ_MAY_BACKLOG,
				  esp_crypt_done_cb, req);
	if (req->dir == ESPAH_TX)
		err = crypto_aead_encrypt(req->aead);
	else
		err = crypto_aead_decrypt(req->aead);
	if (err == -EINPROGRESS || err == -EBUSY) {
		espah_sa_count_path(req->sa, esp_async_path[req->dir]);
		return -EINPROGRESS;
	}
	return err;
}

/* On another CPU's worker: a synchronous result is released from here. */
static void esp_crypt_job(struct espah_job *job)
{
	struct esp_req *req = container_of(job, struct esp_req, job);
	int err = esp_crypt_submit(req);

	if (err == -EINPROGRESS)
		return;
	req->result = err;
	esp_crypt_complete(req);
}

static void esp_order_done_job(struct espah_job *job)
{
	struct esp_req *req = container_of(job, struct esp_req, done_job);

	espah_order_done(esp_order(req), &req->order, false);
}

/*
 * Marks @req done in its release queue once bottom halves run again:
 * at device transmit, releasing packets would send them from inside the
 * transmit validation (espah_parallel_defer() says why it must not).
 */
void esp_order_done_deferred(struct esp_req *req)
{
	req->done_job.run = esp_order_done_job;
	espah_parallel_defer(&req->done_job);
}

/*
 * The crypto of a packet encrypted at device transmit completed in the
 * call: true if it leaves the queue alone, the caller going on with it.
 */
static bool esp_crypt_leave_late(struct esp_req *req)
{
	if (espah_order_try_leave(esp_order(req), &req->order))
		return true;
	esp_order_done_deferred(req);
	return false;
}

/*
 * The "direct" way: returns the crypto's result, or -EINPROGRESS when
 * the release callback will finish the packet.
 */
static int esp_crypt_run_direct(struct esp_req *req)
{
	int err;

	req->flags |= ESP_REQ_DIRECT;
	err = esp_crypt_submit(req);
	if (err != -EINPROGRESS)
		req->result = err;
	return err;
}

/*
 * Runs the request set up by the caller (AEAD request, scatterlists) in
 * direction @dir; @len is the packet's length, for the choice of CPU.
 * Returns the crypto's result when the caller finishes the packet itself
 * (it completed synchronously with nothing of the SA before it in
 * flight), or -EINPROGRESS when the direction's release callback will
 * finish it: then the request and the skb are no longer the caller's.
 * -ENOBUFS: the SA has too many packets in flight, nothing was started
 * (counted; the caller drops the packet). With ESP_REQ_DIRECT in
 * req->flags the packet skips the queue (the "direct" way above).
 */
int esp_crypt_run(struct esp_req *req, enum espah_dir dir,
		  unsigned int len)
{
	struct espah_order *o = &req->sa->order[dir];
	int err;

	req->dir = dir;
	req->order.release = esp_release_of(dir);
	if (req->flags & ESP_REQ_DIRECT)
		return esp_crypt_run_direct(req);
	if (unlikely(!espah_order_enter(o, &req->order, req->order.release)))
		return espah_sa_drop(req->sa, esp_overload_drop[dir], -ENOBUFS);

	if (READ_ONCE(espah_parallel_single) &&
	    !(req->flags & ESP_REQ_NO_CRYPTO) &&
	    espah_parallel_wanted(len, READ_ONCE(o->len))) {
		req->job.run = esp_crypt_job;
		if (espah_parallel_submit(&req->job)) {
			espah_sa_count_path(req->sa, esp_parallel_path[dir]);
			return -EINPROGRESS;
		}
	}
	err = esp_crypt_submit(req);
	if (err == -EINPROGRESS)
		return err;
	req->result = err;
	if (req->flags & ESP_REQ_LATE)
		return esp_crypt_leave_late(req) ? err : -EINPROGRESS;
	if (espah_order_done(o, &req->order, true))
		return err;
	return -EINPROGRESS;
}

/*
 * Segments: the worker (or the waiting caller, which may steal a job no
 * worker started yet) moves a segment from PENDING to RUNNING, then to
 * DONE or, if the AEAD went asynchronous, to ASYNC. The waiting caller
 * keeps DONE segments and gives up on ASYNC ones (ORPHAN): their
 * completion finishes and sends them on its own. Only the side that wins
 * the last transition touches the request afterwards.
 */
static void esp_seg_run(struct esp_req *req)
{
	int err = esp_crypt_submit(req);

	if (err == -EINPROGRESS) {
		/* the completion may already have moved it to DONE */
		atomic_cmpxchg(&req->seg_state, ESP_SEG_RUNNING, ESP_SEG_ASYNC);
		return;
	}
	req->result = err;
	esp_seg_finish(req);
	atomic_set_release(&req->seg_state, ESP_SEG_DONE);
}

static void esp_seg_job(struct espah_job *job)
{
	struct esp_req *req = container_of(job, struct esp_req, job);

	if (atomic_cmpxchg(&req->seg_state, ESP_SEG_PENDING,
			   ESP_SEG_RUNNING) == ESP_SEG_PENDING)
		esp_seg_run(req);
}

/* An asynchronous segment's completion. */
void esp_seg_complete(struct esp_req *req)
{
	esp_seg_finish(req);
	if (atomic_cmpxchg(&req->seg_state, ESP_SEG_RUNNING,
			   ESP_SEG_DONE) == ESP_SEG_RUNNING ||
	    atomic_cmpxchg(&req->seg_state, ESP_SEG_ASYNC,
			   ESP_SEG_DONE) == ESP_SEG_ASYNC)
		return;
	if (atomic_read(&req->seg_state) == ESP_SEG_QUEUED)
		espah_order_done(esp_order(req), &req->order, false);
	else
		esp_seg_send_orphan(req);
}

/*
 * Starts segment @req: on another CPU if @remote and one takes it, else
 * right here. Returns whether it went to another CPU.
 */
bool esp_seg_start(struct esp_req *req, bool remote)
{
	req->dir = ESPAH_TX;
	req->flags |= ESP_REQ_SEGMENT;
	atomic_set(&req->seg_state, ESP_SEG_PENDING);
	if (remote && !(req->flags & ESP_REQ_NO_CRYPTO)) {
		req->job.run = esp_seg_job;
		if (espah_parallel_submit(&req->job)) {
			espah_sa_count_path(req->sa, ESPAH_TX_PARALLEL);
			return true;
		}
	}
	atomic_set(&req->seg_state, ESP_SEG_RUNNING);
	esp_seg_run(req);
	return false;
}

/*
 * Waits until segment @req is DONE or ASYNC and returns which: a job no
 * worker started yet is run here (a worker that started one is running
 * it right now and will not wait for this CPU), an asynchronous one is
 * not waited for (its completion may need this very CPU).
 */
enum esp_seg_state esp_seg_settle(struct esp_req *req)
{
	enum esp_seg_state s;

	for (;;) {
		s = atomic_read_acquire(&req->seg_state);
		if (s == ESP_SEG_DONE || s == ESP_SEG_ASYNC)
			return s;
		if (s == ESP_SEG_PENDING &&
		    atomic_cmpxchg(&req->seg_state, ESP_SEG_PENDING,
				   ESP_SEG_RUNNING) == ESP_SEG_PENDING) {
			esp_seg_run(req);
			continue;
		}
		cpu_relax();
	}
}

/*
 * An ASYNC segment passes to its completion, which then sends it (@to
 * ORPHAN) or marks it done in the release queue the caller put it into
 * (@to QUEUED). False: it completed meanwhile (DONE), still the caller's.
 */
bool esp_seg_give_up(struct esp_req *req, enum esp_seg_state to)
{
	return atomic_cmpxchg(&req->seg_state, ESP_SEG_ASYNC, to) ==
	       ESP_SEG_ASYNC;
}
