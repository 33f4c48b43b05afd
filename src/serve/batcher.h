// Dynamic batching for `vitnt serve`: request threads push aligned crops, one engine thread
// scores up to max_batch of them per Model::score call and hands each crop's score back
// through a future. A batch that is not full waits for more crops (at most max_wait after
// its first one arrived) only while some request is still on its way (an Incoming is held:
// its image is being decoded), so a lone client never waits and a busy server fills its
// batches.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <opencv2/core.hpp>
#include <thread>
#include <vector>

#include "vitnt/vitnt.h"

namespace vitnt::serve {

// What one crop gets back.
struct Scored {
  FaceScore score;
  double queue_ms = 0;  // pushed until its batch started
  double score_ms = 0;  // the batch's Model::score call
  size_t batch = 0;     // the batch's size
};

// Scores a batch of crops with one set of options (Model::score, or a fake in tests).
using ScoreFn =
    std::function<std::vector<FaceScore>(const std::vector<cv::Mat>&, const ScoreOptions&)>;

class Batcher {
 public:
  // `on_batch` (may be empty) is called by the engine thread after every batch with its size.
  // `cpus` (may be empty): the CPUs the engine thread, and so the OpenMP team it starts, runs
  // on.
  Batcher(ScoreFn score, size_t max_batch, std::chrono::microseconds max_wait, size_t max_queue,
          std::function<void(size_t)> on_batch = {}, std::vector<int> cpus = {});
  ~Batcher();  // stop()
  Batcher(const Batcher&) = delete;
  Batcher& operator=(const Batcher&) = delete;

  // A request on its way: held by a request thread from the moment its body is read until
  // it pushes its crops (push releases it) or gives up (the destructor does).
  class Incoming {
   public:
    explicit Incoming(Batcher& batcher);
    ~Incoming();
    Incoming(const Incoming&) = delete;
    Incoming& operator=(const Incoming&) = delete;

   private:
    friend class Batcher;
    Batcher& batcher_;
    bool held_ = true;
  };

  // All crops of one request, or none: false when they do not fit in the queue (the caller
  // answers 503) or the batcher is stopping. A failing score call sets its exception on
  // every future of the batch. `from` (may be null) is released in the same step.
  bool push(std::vector<cv::Mat> crops, const ScoreOptions& options,
            std::vector<std::future<Scored>>& results, Incoming* from = nullptr);
  // Scores what is queued, then ends the engine thread.
  void stop();
  size_t depth() const;  // crops waiting

 private:
  struct Job {
    cv::Mat crop;
    ScoreOptions options;
    std::promise<Scored> result;
    std::chrono::steady_clock::time_point pushed;
  };
  void run();
  void release(Incoming& in);  // with mu_ held

  ScoreFn score_;
  std::function<void(size_t)> on_batch_;
  const size_t max_batch_;
  const std::chrono::microseconds max_wait_;
  const size_t max_queue_;
  const std::vector<int> cpus_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> queue_;
  size_t incoming_ = 0;  // Incoming objects held
  bool stopping_ = false;
  std::thread engine_;
};

// Crops may share a batch only when they are scored with the same options.
bool same_options(const ScoreOptions& a, const ScoreOptions& b);

// The engine thread's name; its OpenMP workers inherit it, so `top -H`, the server's
// --engine-cpus placement and the load benchmark tell the model's threads by it.
inline constexpr char kEngineThreadName[] = "vitnt-engine";
// The CPUs this thread may run on.
std::vector<int> allowed_cpus();
// Restricts thread `tid` (0: the calling thread; threads it starts later inherit it) to
// `cpus`; false with errno set when the kernel refuses.
bool pin_thread(int tid, const std::vector<int>& cpus);

}  // namespace vitnt::serve
