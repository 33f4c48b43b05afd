#include "serve/batcher.h"

#include <pthread.h>
#include <sched.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace vitnt::serve {

using Clock = std::chrono::steady_clock;

static double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

std::vector<int> allowed_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> cpus;
  if (sched_getaffinity(0, sizeof set, &set) != 0) return cpus;
  for (int c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &set)) cpus.push_back(c);
  return cpus;
}

bool pin_thread(int tid, const std::vector<int>& cpus) {
  cpu_set_t set;
  CPU_ZERO(&set);
  for (int c : cpus)
    if (c >= 0 && c < CPU_SETSIZE) CPU_SET(c, &set);
  return sched_setaffinity(tid, sizeof set, &set) == 0;
}

bool same_options(const ScoreOptions& a, const ScoreOptions& b) {
  return a.first_block == b.first_block && a.last_block == b.last_block && a.scaling == b.scaling &&
         a.aggregation == b.aggregation && a.embedding == b.embedding &&
         a.patch_map == b.patch_map && a.serfiq_passes == b.serfiq_passes &&
         a.serfiq_dropout == b.serfiq_dropout && a.embedding_norm == b.embedding_norm &&
         a.regions == b.regions && a.calibration == b.calibration;
}

Batcher::Batcher(ScoreFn score, size_t max_batch, std::chrono::microseconds max_wait,
                 size_t max_queue, std::function<void(size_t)> on_batch, std::vector<int> cpus)
    : score_(std::move(score)),
      on_batch_(std::move(on_batch)),
      max_batch_(max_batch < 1 ? 1 : max_batch),
      max_wait_(max_wait),
      max_queue_(max_queue),
      cpus_(std::move(cpus)),
      engine_([this] { run(); }) {}

Batcher::~Batcher() { stop(); }

Batcher::Incoming::Incoming(Batcher& batcher) : batcher_(batcher) {
  std::lock_guard<std::mutex> lock(batcher_.mu_);
  ++batcher_.incoming_;
}

Batcher::Incoming::~Incoming() {
  {
    std::lock_guard<std::mutex> lock(batcher_.mu_);
    if (!held_) return;
    batcher_.release(*this);
  }
  batcher_.cv_.notify_all();
}

void Batcher::release(Incoming& in) {
  if (in.held_) --incoming_;
  in.held_ = false;
}

bool Batcher::push(std::vector<cv::Mat> crops, const ScoreOptions& options,
                   std::vector<std::future<Scored>>& results, Incoming* from) {
  results.clear();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (from) release(*from);
    if (stopping_ || queue_.size() + crops.size() > max_queue_) {
      if (from) cv_.notify_all();  // the engine may be waiting for this request
      return false;
    }
    const Clock::time_point now = Clock::now();
    for (cv::Mat& c : crops) {
      queue_.push_back({std::move(c), options, {}, now});
      results.push_back(queue_.back().result.get_future());
    }
  }
  cv_.notify_all();
  return true;
}

void Batcher::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (engine_.joinable()) engine_.join();
}

size_t Batcher::depth() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.size();
}

void Batcher::run() {
  pthread_setname_np(pthread_self(), kEngineThreadName);
  // Before the first batch: OpenMP's workers are started by this thread and inherit its CPUs.
  // The caller checked them (parse_cpu_list); a refusal now leaves the thread unpinned.
  if (!cpus_.empty() && !pin_thread(0, cpus_))
    std::fprintf(stderr, "vitnt serve: warning: the engine thread stays off its CPUs: %s\n",
                 std::strerror(errno));
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, nothing left
    // Wait for more crops while requests are on their way, until the batch is full or the
    // first crop has waited max_wait. Waiting only then keeps a lone client's latency
    // (docs/serving.md: 1-client p50 3.7x -> 1.1x of offline with a 5 ms wait).
    const Clock::time_point deadline = queue_.front().pushed + max_wait_;
    cv_.wait_until(lock, deadline,
                   [this] { return stopping_ || queue_.size() >= max_batch_ || incoming_ == 0; });
    // Take the oldest crop and those behind it with the same options, in order.
    std::vector<Job> batch;
    const ScoreOptions options = queue_.front().options;
    for (auto it = queue_.begin(); it != queue_.end() && batch.size() < max_batch_;) {
      if (same_options(it->options, options)) {
        batch.push_back(std::move(*it));
        it = queue_.erase(it);
      } else {
        ++it;
      }
    }
    lock.unlock();
    const Clock::time_point start = Clock::now();
    std::vector<cv::Mat> crops;
    for (const Job& j : batch) crops.push_back(j.crop);
    try {
      std::vector<FaceScore> scores = score_(crops, options);
      if (scores.size() != batch.size()) throw Error("batcher: score returned a wrong count");
      const double score_ms = ms_between(start, Clock::now());
      for (size_t i = 0; i < batch.size(); ++i)
        batch[i].result.set_value(
            {std::move(scores[i]), ms_between(batch[i].pushed, start), score_ms, batch.size()});
    } catch (...) {
      for (Job& j : batch) j.result.set_exception(std::current_exception());
    }
    if (on_batch_) on_batch_(batch.size());
    lock.lock();
  }
}

}  // namespace vitnt::serve
