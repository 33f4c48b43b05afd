#include "serve/batcher.h"

#include <gtest/gtest.h>
#include <pthread.h>
#include <sched.h>

#include <atomic>
#include <string>
#include <thread>

namespace vitnt::serve {
namespace {

// A fake model: the quality of a crop is its first pixel; records the batch sizes.
struct Fake {
  std::mutex mu;
  std::vector<size_t> batches;
  ScoreFn fn() {
    return [this](const std::vector<cv::Mat>& crops, const ScoreOptions& o) {
      {
        std::lock_guard<std::mutex> lock(mu);
        batches.push_back(crops.size());
      }
      std::vector<FaceScore> out(crops.size());
      for (size_t i = 0; i < crops.size(); ++i)
        out[i].quality = crops[i].at<uint8_t>(0, 0) + (o.embedding ? 1000 : 0);
      return out;
    };
  }
};

cv::Mat crop(int v) { return cv::Mat(2, 2, CV_8UC1, cv::Scalar(v)); }

TEST(Batcher, WaitsForRequestsOnTheirWay) {
  Fake fake;
  Batcher b(fake.fn(), 8, std::chrono::milliseconds(2000), 64);
  Batcher::Incoming second(b);  // a request still decoding when the first one pushes
  std::vector<std::future<Scored>> f;
  ASSERT_TRUE(b.push({crop(1), crop(2), crop(3)}, {}, f));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  std::vector<std::future<Scored>> g;
  ASSERT_TRUE(b.push({crop(4)}, {}, g, &second));
  EXPECT_EQ(f[0].get().score.quality, 1);
  EXPECT_EQ(f[2].get().score.quality, 3);
  const Scored s = g[0].get();
  EXPECT_EQ(s.score.quality, 4);
  EXPECT_EQ(s.batch, 4u);  // the engine waited for the second request
  ASSERT_EQ(fake.batches.size(), 1u);
  EXPECT_LT(s.queue_ms, 1000);  // ... and started once it arrived, not after max_wait
}

TEST(Batcher, NothingOnItsWayMeansNoWait) {
  Fake fake;
  Batcher b(fake.fn(), 8, std::chrono::seconds(30), 64);
  std::vector<std::future<Scored>> f;
  ASSERT_TRUE(b.push({crop(1)}, {}, f));  // a lone client
  ASSERT_EQ(f[0].wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_EQ(f[0].get().batch, 1u);
}

TEST(Batcher, TheEngineThreadIsNamed) {
  std::string name;
  Batcher b(
      [&name](const std::vector<cv::Mat>& crops, const ScoreOptions&) {
        char buf[16] = {};
        pthread_getname_np(pthread_self(), buf, sizeof buf);
        name = buf;
        return std::vector<FaceScore>(crops.size());
      },
      8, std::chrono::microseconds(0), 64);
  std::vector<std::future<Scored>> f;
  ASSERT_TRUE(b.push({crop(1)}, {}, f));
  f[0].get();
  EXPECT_EQ(name,
            std::string("vitnt-engine"));  // what `top -H` and tools/bench/serve_load.sh look for
}

TEST(Batcher, TheEngineRunsOnItsCpus) {
  cpu_set_t mine;
  CPU_ZERO(&mine);
  ASSERT_EQ(sched_getaffinity(0, sizeof mine, &mine), 0);
  int last = -1;  // the highest CPU this test may use: not the default of any thread
  int count = 0;
  for (int c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &mine)) last = c, ++count;
  ASSERT_GE(last, 0);
  if (count < 2) GTEST_SKIP() << "one CPU: every thread runs there, pinned or not";
  std::vector<int> seen;
  Batcher b(
      [&seen](const std::vector<cv::Mat>& crops, const ScoreOptions&) {
        cpu_set_t set;
        CPU_ZERO(&set);
        sched_getaffinity(0, sizeof set, &set);
        for (int c = 0; c < CPU_SETSIZE; ++c)
          if (CPU_ISSET(c, &set)) seen.push_back(c);
        return std::vector<FaceScore>(crops.size());
      },
      8, std::chrono::microseconds(0), 64, {}, {last});
  std::vector<std::future<Scored>> f;
  ASSERT_TRUE(b.push({crop(1)}, {}, f));
  f[0].get();
  EXPECT_EQ(seen, std::vector<int>{last});
}

TEST(Batcher, AbandonedRequestEndsTheWait) {
  Fake fake;
  Batcher b(fake.fn(), 8, std::chrono::seconds(30), 64);
  std::vector<std::future<Scored>> f;
  {
    Batcher::Incoming failing(b);  // e.g. its image does not decode: it never pushes
    ASSERT_TRUE(b.push({crop(1)}, {}, f));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_EQ(f[0].wait_for(std::chrono::milliseconds(0)), std::future_status::timeout);
  }
  ASSERT_EQ(f[0].wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_EQ(f[0].get().batch, 1u);
}

TEST(Batcher, WaitIsBoundedByMaxWait) {
  Fake fake;
  Batcher b(fake.fn(), 8, std::chrono::milliseconds(100), 64);
  Batcher::Incoming stuck(b);  // a request that takes forever to decode
  std::vector<std::future<Scored>> f;
  ASSERT_TRUE(b.push({crop(1)}, {}, f));
  ASSERT_EQ(f[0].wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_GE(f[0].get().queue_ms, 90);
}

TEST(Batcher, FullBatchDoesNotWait) {
  Fake fake;
  Batcher b(fake.fn(), 2, std::chrono::seconds(30), 64);
  std::vector<std::future<Scored>> f;
  ASSERT_TRUE(b.push({crop(1), crop(2), crop(3)}, {}, f));
  ASSERT_EQ(f[0].wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_EQ(f[0].get().batch, 2u);
  b.stop();  // the third is scored on stop, not after 30 s
  EXPECT_EQ(f[2].get().score.quality, 3);
}

TEST(Batcher, OptionsAreNotMixed) {
  Fake fake;
  Batcher b(fake.fn(), 8, std::chrono::milliseconds(50), 64);
  std::vector<std::future<Scored>> f, g;
  ScoreOptions emb;
  emb.embedding = true;
  ASSERT_TRUE(b.push({crop(1)}, {}, f));
  ASSERT_TRUE(b.push({crop(2)}, emb, g));
  EXPECT_EQ(f[0].get().score.quality, 1);
  EXPECT_EQ(g[0].get().score.quality, 1002);
  EXPECT_EQ(fake.batches.size(), 2u);
}

TEST(Batcher, QueueBoundRefusesWholeRequest) {
  Fake fake;
  Batcher b(fake.fn(), 1, std::chrono::seconds(0), 3);
  std::vector<std::future<Scored>> f;
  EXPECT_FALSE(b.push({crop(1), crop(2), crop(3), crop(4)}, {}, f));
  EXPECT_TRUE(f.empty());
  EXPECT_TRUE(b.push({crop(1), crop(2), crop(3)}, {}, f));
  b.stop();
  EXPECT_FALSE(b.push({crop(1)}, {}, f));  // stopped
}

TEST(Batcher, ScoreFailureReachesEveryFuture) {
  Batcher b([](const std::vector<cv::Mat>&,
               const ScoreOptions&) -> std::vector<FaceScore> { throw Error("boom"); },
            4, std::chrono::milliseconds(1), 8);
  std::vector<std::future<Scored>> f;
  ASSERT_TRUE(b.push({crop(1), crop(2)}, {}, f));
  EXPECT_THROW(f[0].get(), Error);
  EXPECT_THROW(f[1].get(), Error);
}

}  // namespace
}  // namespace vitnt::serve
