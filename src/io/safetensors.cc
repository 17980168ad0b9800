// safetensors reader (validating every header field against the file) and writer.
#include "io/safetensors.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"

namespace slm::safetensors {
namespace {

using json = nlohmann::json;
constexpr uint64_t kMaxHeader = uint64_t(100) << 20;  // the reference library's limit

size_t elem_bytes(DType t) { return t == DType::F32 ? 4 : 2; }

// Element count of `shape`, or -1 when a dimension is negative or the product overflows 2^62.
int64_t checked_count(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) return -1;
    if (d != 0 && n > (int64_t(1) << 62) / d) return -1;
    n *= d;
  }
  return n;
}

TensorInfo parse_entry(const std::string& name, const json& e, uint64_t data_size, const std::string& file) {
  auto bad = [&](const std::string& what) -> Error {
    return Error(fmt::format("[safetensors] {}: tensor '{}': {}", file, name, what));
  };
  if (!e.is_object()) throw bad("entry is not a JSON object");
  TensorInfo t;
  t.name = name;
  const auto dt = e.find("dtype");
  if (dt == e.end() || !dt->is_string()) throw bad("missing string 'dtype'");
  t.type = dtype_from_string(dt->get<std::string>(), fmt::format("{}: tensor '{}'", file, name));
  const auto sh = e.find("shape");
  if (sh == e.end() || !sh->is_array()) throw bad("missing array 'shape'");
  for (const json& d : *sh) {
    if (!d.is_number_integer()) throw bad("shape holds a non-integer");
    if (d.is_number_unsigned() ? d.get<uint64_t>() > uint64_t(INT64_MAX) : d.get<int64_t>() < 0)
      throw bad(fmt::format("shape dimension {} is out of range", d.dump()));
    t.shape.push_back(d.get<int64_t>());
  }
  if (t.shape.size() > 8) throw bad(fmt::format("{} dimensions (at most 8 supported)", t.shape.size()));
  const auto off = e.find("data_offsets");
  if (off == e.end() || !off->is_array() || off->size() != 2 || !(*off)[0].is_number_unsigned() ||
      !(*off)[1].is_number_unsigned())
    throw bad("'data_offsets' must be two non-negative integers");
  t.begin = (*off)[0].get<uint64_t>();
  t.end = (*off)[1].get<uint64_t>();
  if (t.begin > t.end) throw bad(fmt::format("data_offsets [{}, {}] are reversed", t.begin, t.end));
  if (t.end > data_size)
    throw bad(fmt::format("data_offsets [{}, {}] run past the data section ({} bytes)", t.begin, t.end, data_size));
  const int64_t n = checked_count(t.shape);
  if (n < 0) throw bad("shape element count overflows");
  const uint64_t want = uint64_t(n) * elem_bytes(t.type);
  if (want != t.end - t.begin)
    throw bad(fmt::format("shape {} of {} needs {} bytes but data_offsets [{}, {}] hold {}", sh->dump(),
                          dt->get<std::string>(), want, t.begin, t.end, t.end - t.begin));
  return t;
}

}  // namespace

int64_t TensorInfo::n_elements() const { return checked_count(shape); }

DType dtype_from_string(std::string_view s, std::string_view where) {
  if (s == "F32") return DType::F32;
  if (s == "F16") return DType::F16;
  if (s == "BF16") return DType::BF16;
  fail("[safetensors] {}: dtype '{}' is not supported (F32, F16 and BF16 are)", where, s);
}

const char* dtype_to_string(DType t) {
  switch (t) {
    case DType::F32: return "F32";
    case DType::F16: return "F16";
    case DType::BF16: return "BF16";
    default: fail("[safetensors] type {} cannot be stored (F32, F16 and BF16 can)", dtype_info(t).name);
  }
}

File File::open(const std::string& path) {
  auto map = std::make_shared<MappedFile>(path);
  File f = parse(map->bytes(), path);
  f.map_ = std::move(map);
  return f;
}

File File::parse(std::span<const uint8_t> bytes, const std::string& name) {
  File f;
  f.name_ = name;
  if (bytes.size() < 8) fail("[safetensors] {}: {} bytes is too short for the header length", name, bytes.size());
  uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  if (n > bytes.size() - 8)
    fail("[safetensors] {}: header length {} runs past the end of the file ({} bytes)", name, n, bytes.size());
  if (n > kMaxHeader) fail("[safetensors] {}: header length {} exceeds the 100 MiB limit", name, n);
  if (n < 2) fail("[safetensors] {}: header of {} bytes cannot hold a JSON object", name, n);
  const std::string_view text(reinterpret_cast<const char*>(bytes.data() + 8), size_t(n));
  json h = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (h.is_discarded()) fail("[safetensors] {}: header is not valid JSON", name);
  if (!h.is_object()) fail("[safetensors] {}: header is a JSON {}, not an object", name, h.type_name());
  f.data_ = bytes.subspan(size_t(8 + n));

  for (auto it = h.begin(); it != h.end(); ++it) {
    if (it.key() == "__metadata__") {
      if (!it->is_object()) fail("[safetensors] {}: __metadata__ is not an object", name);
      for (auto m = it->begin(); m != it->end(); ++m) {
        if (!m->is_string()) fail("[safetensors] {}: __metadata__ '{}' is not a string", name, m.key());
        f.metadata_[m.key()] = m->get<std::string>();
      }
      continue;
    }
    f.tensors_.push_back(parse_entry(it.key(), *it, f.data_.size(), name));
  }
  // Byte ranges must not overlap (and, as the format says, must tile the data section without gaps).
  std::vector<const TensorInfo*> by_offset;
  for (const TensorInfo& t : f.tensors_) by_offset.push_back(&t);
  std::sort(by_offset.begin(), by_offset.end(), [](const TensorInfo* a, const TensorInfo* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  uint64_t pos = 0;
  const TensorInfo* prev = nullptr;
  for (const TensorInfo* t : by_offset) {
    if (t->begin < pos)
      fail("[safetensors] {}: tensor '{}' [{}, {}] overlaps tensor '{}' [{}, {}]", name, t->name, t->begin, t->end,
           prev->name, prev->begin, prev->end);
    if (t->begin > pos)
      fail("[safetensors] {}: gap of {} bytes before tensor '{}' at data offset {}", name, t->begin - pos, t->name,
           pos);
    pos = t->end;
    prev = t;
  }
  // Header order is JSON object order; nlohmann sorts keys, so restore the order of the data instead.
  std::sort(f.tensors_.begin(), f.tensors_.end(),
            [](const TensorInfo& a, const TensorInfo& b) { return a.begin != b.begin ? a.begin < b.begin : a.name < b.name; });
  for (size_t i = 0; i < f.tensors_.size(); ++i) f.index_.emplace(f.tensors_[i].name, i);
  return f;
}

const TensorInfo* File::find(std::string_view name) const {
  const auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

std::span<const uint8_t> File::tensor_data(const TensorInfo& t) const {
  return data_.subspan(size_t(t.begin), size_t(t.end - t.begin));
}

// ---- Checkpoint ----

Checkpoint Checkpoint::open(const std::string& path) {
  namespace fs = std::filesystem;
  Checkpoint c;
  std::vector<std::string> shard_paths;
  std::map<std::string, std::string> weight_map;  // from the index, to check against the shards
  if (!fs::is_directory(path)) {
    shard_paths.push_back(path);
  } else if (fs::exists(fs::path(path) / "model.safetensors.index.json")) {
    const std::string ipath = (fs::path(path) / "model.safetensors.index.json").string();
    std::ifstream in(ipath);
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string text = ss.str();
    json j = json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) fail("[safetensors] {}: not a JSON object", ipath);
    const auto wm = j.find("weight_map");
    if (wm == j.end() || !wm->is_object()) fail("[safetensors] {}: missing object 'weight_map'", ipath);
    for (auto it = wm->begin(); it != wm->end(); ++it) {
      if (!it->is_string()) fail("[safetensors] {}: weight_map '{}' is not a string", ipath, it.key());
      const std::string shard = it->get<std::string>();
      if (shard.find('/') != std::string::npos || shard.find("..") != std::string::npos)
        fail("[safetensors] {}: shard name '{}' must be a plain file name", ipath, shard);
      weight_map[it.key()] = shard;
      const std::string sp = (fs::path(path) / shard).string();
      if (std::find(shard_paths.begin(), shard_paths.end(), sp) == shard_paths.end()) shard_paths.push_back(sp);
    }
    std::sort(shard_paths.begin(), shard_paths.end());
  } else if (fs::exists(fs::path(path) / "model.safetensors")) {
    shard_paths.push_back((fs::path(path) / "model.safetensors").string());
  } else {
    fail("[safetensors] {}: no model.safetensors or model.safetensors.index.json", path);
  }
  for (const std::string& sp : shard_paths) c.files_.push_back(std::make_unique<File>(File::open(sp)));
  for (const auto& f : c.files_) {
    for (const TensorInfo& t : f->tensors()) {
      if (c.index_.count(t.name))
        fail("[safetensors] {}: tensor '{}' appears in two shards", f->name(), t.name);
      if (!weight_map.empty()) {
        const auto w = weight_map.find(t.name);
        if (w == weight_map.end() || fs::path(f->name()).filename() != w->second)
          fail("[safetensors] {}: tensor '{}' is not mapped to this shard by the index", f->name(), t.name);
      }
      c.index_.emplace(t.name, c.entries_.size());
      c.entries_.push_back(Entry{f.get(), &t});
    }
  }
  for (const auto& [tensor, shard] : weight_map)
    if (!c.index_.count(tensor)) fail("[safetensors] {}: index lists tensor '{}' but shard '{}' lacks it", path, tensor, shard);
  return c;
}

const Checkpoint::Entry* Checkpoint::find(std::string_view name) const {
  const auto it = index_.find(name);
  return it == index_.end() ? nullptr : &entries_[it->second];
}

// ---- Writer ----

void Writer::add_tensor(std::string name, DType type, std::vector<int64_t> shape, std::span<const uint8_t> data) {
  (void)dtype_to_string(type);
  const int64_t n = checked_count(shape);
  if (n < 0 || uint64_t(n) * elem_bytes(type) != data.size())
    fail("[safetensors] tensor '{}': {} data bytes do not match its shape", name, data.size());
  if (name == "__metadata__") fail("[safetensors] '__metadata__' is not a tensor name");
  for (const Pending& p : tensors_)
    if (p.name == name) fail("[safetensors] tensor '{}' added twice", name);
  tensors_.push_back(Pending{std::move(name), type, std::move(shape), data});
}

void Writer::set_metadata(std::string key, std::string value) { metadata_[std::move(key)] = std::move(value); }

std::string Writer::header_json() const {
  // Written by hand so that keys keep the data order (nlohmann's json sorts them).
  std::string s = "{";
  if (!metadata_.empty()) s += "\"__metadata__\":" + json(metadata_).dump();
  uint64_t off = 0;
  for (const Pending& p : tensors_) {
    if (s.size() > 1) s += ",";
    s += json(p.name).dump() + ":{\"dtype\":\"" + dtype_to_string(p.type) + "\",\"shape\":" + json(p.shape).dump() +
         fmt::format(",\"data_offsets\":[{},{}]}}", off, off + p.data.size());
    off += p.data.size();
  }
  s += "}";
  s.append((8 - s.size() % 8) % 8, ' ');
  return s;
}

std::vector<uint8_t> Writer::to_bytes() const {
  const std::string h = header_json();
  size_t total = 8 + h.size();
  for (const Pending& p : tensors_) total += p.data.size();
  std::vector<uint8_t> out(total);
  const uint64_t n = h.size();
  std::memcpy(out.data(), &n, 8);
  std::memcpy(out.data() + 8, h.data(), h.size());
  size_t pos = 8 + h.size();
  for (const Pending& p : tensors_) {
    if (!p.data.empty()) std::memcpy(out.data() + pos, p.data.data(), p.data.size());
    pos += p.data.size();
  }
  return out;
}

void Writer::write(const std::string& path) const {
  const std::string tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) fail("[safetensors] {}: cannot create: {}", tmp, std::strerror(errno));
  const std::string h = header_json();
  const uint64_t n = h.size();
  bool ok = std::fwrite(&n, 8, 1, f) == 1 && std::fwrite(h.data(), 1, h.size(), f) == h.size();
  for (const Pending& p : tensors_)
    ok = ok && (p.data.empty() || std::fwrite(p.data.data(), 1, p.data.size(), f) == p.data.size());
  ok = (std::fclose(f) == 0) && ok;
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    fail("[safetensors] {}: write failed", path);
  }
}

}  // namespace slm::safetensors
