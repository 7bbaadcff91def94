// Buckets of snapshot objects, keyed by bucket URL and snapshot name, with the storage cache a
// deployment reads through (which can keep serving an older object under a reused name: the
// stale-cache fault) and optional durable backing in a state directory.
//
// Thread-safety: every method may be called from any thread (one internal mutex): the trainer
// writes from the training thread while the router reads from server threads.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "weightsync/fake/delta_codec.h"
#include "weightsync/snapshot_chain.h"

namespace weightsync::fake {

struct StoredObject {
  std::string name;  // the snapshot identity (session-scoped)
  CheckpointKind kind = CheckpointKind::base;
  std::string parent;          // a delta's parent identity; empty for full snapshots
  bool delta_encoded = false;  // bytes hold a delta (delta_codec.h), not full weights
  bool lora = false;           // bytes are a LoRA adapter
  std::uint32_t checksum = 0;  // Adler-32 of the full reconstructed weights
  std::uint64_t full_size = 0;
  std::shared_ptr<const Bytes> bytes;  // as stored; never null
  std::uint64_t generation = 0;        // the bucket's generation when it was written
  std::uint64_t sequence = 0;          // store-wide write counter: tells overwrites apart
};

class BucketStore {
 public:
  // Without a state directory everything lives in memory. With one, existing buckets are loaded
  // (throws std::runtime_error naming a file that is not a valid object) and every write is
  // durable before it returns.
  explicit BucketStore(std::optional<std::filesystem::path> state_dir = std::nullopt);

  // Creates the bucket if it does not exist.
  void ensure_bucket(const std::string& url);
  bool has_bucket(const std::string& url) const;
  // Writes (or overwrites) an object. Throws std::invalid_argument for an unknown bucket.
  void put(const std::string& url, StoredObject object);
  // The object as storage holds it now, bypassing the cache.
  std::optional<StoredObject> get(const std::string& url, const std::string& name) const;
  // What a deployment's download sees: through the storage cache. With the stale cache on, a
  // name read before keeps answering its old object even after it was overwritten or deleted.
  std::optional<StoredObject> read(const std::string& url, const std::string& name);
  void set_stale_cache(bool stale);
  // Empties the bucket under a new generation (its cache entries go too).
  void recreate_bucket(const std::string& url);
  std::uint64_t generation(const std::string& url) const;
  std::vector<std::string> object_names(const std::string& url) const;
  std::vector<std::string> bucket_urls() const;

 private:
  struct Bucket {
    std::uint64_t generation = 1;
    std::map<std::string, StoredObject> objects;
  };
  Bucket& bucket_or_throw(const std::string& url);
  void load_from_disk();
  void persist_bucket(const std::string& url, const Bucket& bucket) const;
  void persist_object(const std::string& url, const StoredObject& object) const;
  std::filesystem::path bucket_dir(const std::string& url) const;

  mutable std::mutex mutex_;
  std::optional<std::filesystem::path> state_dir_;
  std::map<std::string, Bucket> buckets_;
  std::map<std::pair<std::string, std::string>, StoredObject> cache_;
  bool stale_cache_ = false;
  std::uint64_t sequence_ = 0;
};

}  // namespace weightsync::fake
