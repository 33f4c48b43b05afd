// The tracker: IoU, greedy matching with the landmark term, tracks ending after a gap.
#include "video/tracker.h"

#include <gtest/gtest.h>

namespace vitnt::video {
namespace {

// A frontal face box at (x, y) of size s, landmarks placed as in the template.
Face face_at(float x, float y, float s = 100) {
  Face f;
  f.x = x, f.y = y, f.width = s, f.height = s, f.score = 0.9f;
  const float lm[5][2] = {{0.3f, 0.4f}, {0.7f, 0.4f}, {0.5f, 0.6f}, {0.35f, 0.8f}, {0.65f, 0.8f}};
  for (int i = 0; i < 5; ++i) f.landmarks[i] = {x + lm[i][0] * s, y + lm[i][1] * s};
  return f;
}

TEST(Tracker, BoxIou) {
  EXPECT_FLOAT_EQ(box_iou(face_at(0, 0), face_at(0, 0)), 1.0f);
  EXPECT_FLOAT_EQ(box_iou(face_at(0, 0), face_at(50, 0)), 50.0f * 100 / (2 * 10000 - 5000));
  EXPECT_EQ(box_iou(face_at(0, 0), face_at(100, 0)), 0.0f);  // touching
  EXPECT_EQ(box_iou(face_at(0, 0), face_at(300, 300)), 0.0f);
  EXPECT_FLOAT_EQ(landmark_distance(face_at(0, 0), face_at(10, 0)), 0.1f);
}

TEST(Tracker, FollowsMovingFacesAndKeepsThemApart) {
  FaceTracker t;
  EXPECT_EQ(t.update(0, {face_at(0, 0), face_at(300, 0)}), (std::vector<int>{1, 2}));
  // given in the other order and moved a little: the same tracks
  EXPECT_EQ(t.update(1, {face_at(305, 4), face_at(6, 3)}), (std::vector<int>{2, 1}));
  EXPECT_EQ(t.update(2, {face_at(12, 6)}), (std::vector<int>{1}));
  // far from both: a new track
  EXPECT_EQ(t.update(3, {face_at(600, 0), face_at(10, 5)}), (std::vector<int>{3, 1}));
}

TEST(Tracker, GreedyTakesTheBestPairFirst) {
  FaceTracker t;
  t.update(0, {face_at(0, 0), face_at(30, 0)});
  // both faces overlap both tracks, and the first one given overlaps track 1 most; but
  // the best pair of all is track 1 with the second face, so the first gets track 2
  EXPECT_EQ(t.update(1, {face_at(12, 0), face_at(2, 0)}), (std::vector<int>{2, 1}));
}

TEST(Tracker, LandmarksDecideBetweenEqualBoxes) {
  TrackerOptions o;
  o.iou_threshold = 0.1f;
  FaceTracker t(o);
  t.update(0, {face_at(0, 0), face_at(400, 0)});
  Face a2 = face_at(20, 0), b2 = face_at(20, 0);  // the same box
  for (auto& p : b2.landmarks) p.x += 50;         // but landmarks far from track 1's
  // only the landmark term tells the two apart: the one with track 1's pose continues it
  std::vector<int> ids = t.update(1, {b2, a2});
  EXPECT_EQ(ids[1], 1);
  EXPECT_EQ(ids[0], 3);
}

TEST(Tracker, TrackEndsAfterTheGap) {
  TrackerOptions o;
  o.max_gap_frames = 5;
  FaceTracker t(o);
  EXPECT_EQ(t.update(0, {face_at(0, 0)}), std::vector<int>{1});
  EXPECT_TRUE(t.update(1, {}).empty());
  // last seen at frame 0: at frame 5 the gap is 5, still open
  EXPECT_EQ(t.update(5, {face_at(2, 0)}), std::vector<int>{1});
  EXPECT_TRUE(t.closed().empty());
  // a gap of 6 > 5: closed first, so the same place starts track 2
  EXPECT_EQ(t.update(11, {face_at(2, 0)}), std::vector<int>{2});
  EXPECT_EQ(t.closed(), std::vector<int>{1});
  EXPECT_EQ(t.open_tracks(), std::vector<int>{2});
}

TEST(Tracker, LowOverlapStartsANewTrack) {
  TrackerOptions o;
  o.iou_threshold = 0.5f;
  FaceTracker t(o);
  t.update(0, {face_at(0, 0)});
  EXPECT_EQ(t.update(1, {face_at(40, 0)}), std::vector<int>{2});  // IoU 0.43 < 0.5
}

}  // namespace
}  // namespace vitnt::video
