// The bucket store: objects by name, the stale storage cache, re-creation, durable backing.
#include "weightsync/fake/bucket_store.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace weightsync::fake {
namespace {

StoredObject object_of(const std::string& name, Bytes bytes) {
  StoredObject o;
  o.name = name;
  o.checksum = adler32(bytes);
  o.full_size = bytes.size();
  o.bytes = std::make_shared<const Bytes>(std::move(bytes));
  return o;
}

const std::string kUrl = "gs://fake-bucket/acme/t1";

TEST(BucketStore, PutGetAndOverwrite) {
  BucketStore store;
  EXPECT_THROW(store.put(kUrl, object_of("a", {1})), std::invalid_argument);
  store.ensure_bucket(kUrl);
  store.put(kUrl, object_of("a", {1, 2}));
  EXPECT_EQ(*store.get(kUrl, "a")->bytes, (Bytes{1, 2}));
  store.put(kUrl, object_of("a", {3}));
  EXPECT_EQ(*store.read(kUrl, "a")->bytes, (Bytes{3}));
  EXPECT_FALSE(store.get(kUrl, "b"));
  EXPECT_FALSE(store.read("gs://other", "a"));
}

TEST(BucketStore, StaleCacheKeepsServingTheOldObjectForAReusedName) {
  BucketStore store;
  store.ensure_bucket(kUrl);
  store.put(kUrl, object_of("a", {1}));
  EXPECT_EQ(*store.read(kUrl, "a")->bytes, (Bytes{1}));
  store.set_stale_cache(true);
  store.put(kUrl, object_of("a", {2}));
  EXPECT_EQ(*store.read(kUrl, "a")->bytes, (Bytes{1}));
  EXPECT_EQ(*store.get(kUrl, "a")->bytes, (Bytes{2}));
  store.set_stale_cache(false);
  EXPECT_EQ(*store.read(kUrl, "a")->bytes, (Bytes{2}));
}

TEST(BucketStore, RecreateEmptiesUnderANewGeneration) {
  BucketStore store;
  store.ensure_bucket(kUrl);
  store.put(kUrl, object_of("a", {1}));
  EXPECT_EQ(store.generation(kUrl), 1u);
  store.recreate_bucket(kUrl);
  EXPECT_EQ(store.generation(kUrl), 2u);
  EXPECT_FALSE(store.read(kUrl, "a"));
  EXPECT_TRUE(store.object_names(kUrl).empty());
}

class DurableBucketStore : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = std::filesystem::temp_directory_path() /
          ("weightsync-fake-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
           "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir);
  }
  void TearDown() override { std::filesystem::remove_all(dir); }
  std::filesystem::path dir;
};

TEST_F(DurableBucketStore, AcknowledgedObjectsSurviveARestart) {
  {
    BucketStore store(dir);
    store.ensure_bucket(kUrl);
    auto o = object_of("step-1-0123abcd", {9, 8, 7});
    o.kind = CheckpointKind::delta;
    o.parent = "step-0-0123abcd";
    o.delta_encoded = true;
    store.put(kUrl, o);
  }
  BucketStore reopened(dir);
  const auto o = reopened.get(kUrl, "step-1-0123abcd");
  ASSERT_TRUE(o);
  EXPECT_EQ(*o->bytes, (Bytes{9, 8, 7}));
  EXPECT_EQ(o->kind, CheckpointKind::delta);
  EXPECT_EQ(o->parent, "step-0-0123abcd");
  EXPECT_TRUE(o->delta_encoded);
  EXPECT_EQ(o->checksum, adler32(Bytes{9, 8, 7}));
}

TEST_F(DurableBucketStore, RecreationAndUnfinishedWritesAreHandledOnLoad) {
  {
    BucketStore store(dir);
    store.ensure_bucket(kUrl);
    store.put(kUrl, object_of("old", {1}));
    store.recreate_bucket(kUrl);
    store.put(kUrl, object_of("new", {2}));
  }
  // A temp file from a write killed before its rename was never acknowledged.
  for (const auto& bucket : std::filesystem::directory_iterator(dir / "buckets")) {
    std::ofstream(bucket.path() / "objects" / "deadbeef.obj.tmp") << "partial";
  }
  BucketStore reopened(dir);
  EXPECT_EQ(reopened.generation(kUrl), 2u);
  EXPECT_EQ(reopened.object_names(kUrl), std::vector<std::string>{"new"});
}

TEST_F(DurableBucketStore, ACorruptObjectFileIsRefusedWithItsPath) {
  {
    BucketStore store(dir);
    store.ensure_bucket(kUrl);
    store.put(kUrl, object_of("a", {1}));
  }
  for (const auto& bucket : std::filesystem::directory_iterator(dir / "buckets")) {
    for (const auto& file : std::filesystem::directory_iterator(bucket.path() / "objects")) {
      std::ofstream(file.path(), std::ios::trunc) << "WSO1garbage";
    }
  }
  try {
    BucketStore reopened(dir);
    FAIL() << "a corrupt object file was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(".obj"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace weightsync::fake
