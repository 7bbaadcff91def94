// In-memory buckets, a read-through storage cache, and an optional durable mirror on disk.
#include "weightsync/fake/bucket_store.h"

#include <nlohmann/json.hpp>
#include <stdexcept>

#include "weightsync/fake/durable_file.h"
#include "weightsync/log.h"

namespace weightsync::fake {
namespace {

constexpr std::string_view kObjectMagic = "WSO1";

// URLs and snapshot names become file names as hex: no separator can escape the directory.
std::string hex_of(std::string_view text) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (const unsigned char c : text) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

std::string object_file_name(const std::string& name) {
  return hex_of(name) + ".obj";
}

std::string encode_object_file(const StoredObject& object) {
  const nlohmann::json meta = {
      {"name", object.name},          {"kind", std::string(to_string(object.kind))},
      {"parent", object.parent},      {"deltaEncoded", object.delta_encoded},
      {"lora", object.lora},          {"checksum", object.checksum},
      {"fullSize", object.full_size}, {"generation", object.generation},
      {"sequence", object.sequence}};
  const std::string text = meta.dump();
  std::string out(kObjectMagic);
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((text.size() >> (8 * i)) & 0xff));
  out += text;
  out.append(reinterpret_cast<const char*>(object.bytes->data()), object.bytes->size());
  return out;
}

StoredObject decode_object_file(const std::filesystem::path& path, const std::string& content) {
  const auto bad = [&](const std::string& why) {
    return std::runtime_error("bucket object file " + path.string() + " is not valid: " + why);
  };
  if (content.size() < 8 || content.compare(0, 4, kObjectMagic) != 0) {
    throw bad("expected the magic \"WSO1\" and a metadata length");
  }
  std::size_t length = 0;
  for (int i = 0; i < 4; ++i) {
    length |= std::size_t{static_cast<unsigned char>(content[4 + static_cast<std::size_t>(i)])}
              << (8 * i);
  }
  if (length > content.size() - 8) throw bad("metadata length runs past the end of the file");
  StoredObject object;
  try {
    const auto meta = nlohmann::json::parse(content.substr(8, length));
    object.name = meta.at("name").get<std::string>();
    object.kind = parse_checkpoint_kind(meta.at("kind").get<std::string>());
    object.parent = meta.at("parent").get<std::string>();
    object.delta_encoded = meta.at("deltaEncoded").get<bool>();
    object.lora = meta.at("lora").get<bool>();
    object.checksum = meta.at("checksum").get<std::uint32_t>();
    object.full_size = meta.at("fullSize").get<std::uint64_t>();
    object.generation = meta.at("generation").get<std::uint64_t>();
    object.sequence = meta.at("sequence").get<std::uint64_t>();
  } catch (const std::exception& e) {
    throw bad(std::string("metadata: ") + e.what());
  }
  object.bytes =
      std::make_shared<const Bytes>(content.begin() + 8 + static_cast<long>(length), content.end());
  return object;
}

}  // namespace

BucketStore::BucketStore(std::optional<std::filesystem::path> state_dir)
    : state_dir_(std::move(state_dir)) {
  if (state_dir_) load_from_disk();
}

void BucketStore::ensure_bucket(const std::string& url) {
  std::lock_guard lock(mutex_);
  if (buckets_.count(url)) return;
  persist_bucket(url, buckets_[url]);
}

bool BucketStore::has_bucket(const std::string& url) const {
  std::lock_guard lock(mutex_);
  return buckets_.count(url) > 0;
}

void BucketStore::put(const std::string& url, StoredObject object) {
  std::lock_guard lock(mutex_);
  Bucket& bucket = bucket_or_throw(url);
  if (!object.bytes) throw std::invalid_argument("bucket object " + object.name + " has no bytes");
  object.generation = bucket.generation;
  object.sequence = ++sequence_;
  persist_object(url, object);
  bucket.objects[object.name] = std::move(object);
}

std::optional<StoredObject> BucketStore::get(const std::string& url,
                                             const std::string& name) const {
  std::lock_guard lock(mutex_);
  const auto bucket = buckets_.find(url);
  if (bucket == buckets_.end()) return std::nullopt;
  const auto object = bucket->second.objects.find(name);
  if (object == bucket->second.objects.end()) return std::nullopt;
  return object->second;
}

std::optional<StoredObject> BucketStore::read(const std::string& url, const std::string& name) {
  std::lock_guard lock(mutex_);
  const auto key = std::make_pair(url, name);
  if (stale_cache_) {
    const auto cached = cache_.find(key);
    if (cached != cache_.end()) return cached->second;
  }
  const auto bucket = buckets_.find(url);
  if (bucket == buckets_.end()) return std::nullopt;
  const auto object = bucket->second.objects.find(name);
  if (object == bucket->second.objects.end()) return std::nullopt;
  cache_[key] = object->second;
  return object->second;
}

void BucketStore::set_stale_cache(bool stale) {
  std::lock_guard lock(mutex_);
  stale_cache_ = stale;
}

void BucketStore::recreate_bucket(const std::string& url) {
  std::lock_guard lock(mutex_);
  Bucket& bucket = bucket_or_throw(url);
  const auto old_objects = std::move(bucket.objects);
  bucket.objects.clear();
  ++bucket.generation;
  // The new generation is durable first, so a crash mid-way leaves only ignorable leftovers.
  persist_bucket(url, bucket);
  if (state_dir_) {
    for (const auto& [name, object] : old_objects) {
      remove_file_durably(bucket_dir(url) / "objects" / object_file_name(name));
    }
  }
  std::erase_if(cache_, [&](const auto& entry) { return entry.first.first == url; });
}

std::uint64_t BucketStore::generation(const std::string& url) const {
  std::lock_guard lock(mutex_);
  const auto bucket = buckets_.find(url);
  return bucket == buckets_.end() ? 0 : bucket->second.generation;
}

std::vector<std::string> BucketStore::object_names(const std::string& url) const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> names;
  const auto bucket = buckets_.find(url);
  if (bucket == buckets_.end()) return names;
  for (const auto& [name, object] : bucket->second.objects) names.push_back(name);
  return names;
}

std::vector<std::string> BucketStore::bucket_urls() const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> urls;
  for (const auto& [url, bucket] : buckets_) urls.push_back(url);
  return urls;
}

BucketStore::Bucket& BucketStore::bucket_or_throw(const std::string& url) {
  const auto bucket = buckets_.find(url);
  if (bucket == buckets_.end()) throw std::invalid_argument("no bucket " + url);
  return bucket->second;
}

std::filesystem::path BucketStore::bucket_dir(const std::string& url) const {
  return *state_dir_ / "buckets" / hex_of(url);
}

void BucketStore::persist_bucket(const std::string& url, const Bucket& bucket) const {
  if (!state_dir_) return;
  const auto dir = bucket_dir(url);
  std::filesystem::create_directories(dir / "objects");
  const nlohmann::json meta = {{"url", url}, {"generation", bucket.generation}};
  write_file_durably(dir / "bucket.json", meta.dump());
}

void BucketStore::persist_object(const std::string& url, const StoredObject& object) const {
  if (!state_dir_) return;
  write_file_durably(bucket_dir(url) / "objects" / object_file_name(object.name),
                     encode_object_file(object));
}

void BucketStore::load_from_disk() {
  const auto root = *state_dir_ / "buckets";
  std::filesystem::create_directories(root);
  for (const auto& entry : std::filesystem::directory_iterator(root)) {
    if (!entry.is_directory()) continue;
    const auto meta_path = entry.path() / "bucket.json";
    if (!std::filesystem::exists(meta_path)) continue;  // created, never committed
    std::string url;
    Bucket bucket;
    try {
      const auto meta = nlohmann::json::parse(read_whole_file(meta_path));
      url = meta.at("url").get<std::string>();
      bucket.generation = meta.at("generation").get<std::uint64_t>();
    } catch (const nlohmann::json::exception& e) {
      throw std::runtime_error("bucket file " + meta_path.string() +
                               " is not valid: expected {\"url\", \"generation\"}: " + e.what());
    }
    for (const auto& file : std::filesystem::directory_iterator(entry.path() / "objects")) {
      if (file.path().extension() != ".obj") {
        // A temp file of a write that never completed was never acknowledged.
        std::filesystem::remove(file.path());
        continue;
      }
      StoredObject object = decode_object_file(file.path(), read_whole_file(file.path()));
      if (object.generation != bucket.generation) continue;  // left from before a re-create
      sequence_ = std::max(sequence_, object.sequence);
      bucket.objects[object.name] = std::move(object);
    }
    log(LogLevel::info, [&] {
      return "fake bucket store: loaded " + url + " with " + std::to_string(bucket.objects.size()) +
             " objects";
    });
    buckets_[url] = std::move(bucket);
  }
}

}  // namespace weightsync::fake
