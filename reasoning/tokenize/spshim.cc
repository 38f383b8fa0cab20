// spshim.cc wraps sentencepiece::SentencePieceProcessor (Debian's libsentencepiece) in C for cgo.
#include "spshim.h"

#include <sentencepiece_processor.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

struct spshim {
  sentencepiece::SentencePieceProcessor proc;
};

static char *dup_string(const std::string &s) {
  char *c = static_cast<char *>(std::malloc(s.size() + 1));
  if (c != nullptr) {
    std::memcpy(c, s.data(), s.size());
    c[s.size()] = 0;
  }
  return c;
}

extern "C" spshim *spshim_load(const char *path, size_t n, char **err) {
  auto *p = new spshim();
  auto st = p->proc.Load(std::string_view(path, n));
  if (!st.ok()) {
    *err = dup_string(st.ToString());
    delete p;
    return nullptr;
  }
  return p;
}

extern "C" void spshim_free(spshim *p) { delete p; }

extern "C" int spshim_size(spshim *p) { return p->proc.GetPieceSize(); }

extern "C" int spshim_encode(spshim *p, const char *text, size_t n, int32_t **ids, size_t *nids,
                             char **err) {
  std::vector<int> v;
  auto st = p->proc.Encode(std::string_view(text, n), &v);
  if (!st.ok()) {
    *err = dup_string(st.ToString());
    return 1;
  }
  *nids = v.size();
  *ids = static_cast<int32_t *>(std::malloc((v.size() + 1) * sizeof(int32_t)));
  for (size_t i = 0; i < v.size(); i++) (*ids)[i] = v[i];
  return 0;
}

extern "C" int spshim_decode(spshim *p, const int32_t *ids, size_t n, char **out, size_t *outn,
                             char **err) {
  static_assert(sizeof(int) == sizeof(int32_t), "sentencepiece ids are int");
  std::string s;
  auto st = p->proc.Decode(absl::MakeConstSpan(reinterpret_cast<const int *>(ids), n), &s);
  if (!st.ok()) {
    *err = dup_string(st.ToString());
    return 1;
  }
  *outn = s.size();
  *out = dup_string(s);
  return 0;
}
