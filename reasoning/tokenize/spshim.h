// spshim.h is the small C interface the Go side calls to reach libsentencepiece's C++ API.
#ifndef SENTIO_SPSHIM_H
#define SENTIO_SPSHIM_H
#include <stddef.h>
#include <stdint.h>
#ifdef __cplusplus
extern "C" {
#endif
typedef struct spshim spshim;
// spshim_load loads a model file; on failure it returns NULL and *err (free with free()).
spshim *spshim_load(const char *path, size_t n, char **err);
void spshim_free(spshim *p);
// spshim_size returns the number of pieces.
int spshim_size(spshim *p);
// spshim_encode sets *ids (free with free()) and *nids to the ids of text[0:n]; 0 on success, else *err.
int spshim_encode(spshim *p, const char *text, size_t n, int32_t **ids, size_t *nids, char **err);
// spshim_decode sets *out (free with free()) and *outn to the text of ids; 0 on success, else *err.
int spshim_decode(spshim *p, const int32_t *ids, size_t n, char **out, size_t *outn, char **err);
#ifdef __cplusplus
}
#endif
#endif
