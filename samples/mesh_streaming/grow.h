/* grow.h - growing the mesh buffer in place (--grow-mb): when a mesh does
 * not fit, the one block of the mesh pool grows (oa_vk_pool_grow, the copy
 * recorded into the frame's command buffer) instead of evicting, up to a
 * limit. Every resident mesh keeps its offset, so draws change only the
 * buffer they bind. */
#ifndef SAMPLE_GROW_H
#define SAMPLE_GROW_H

#include "streaming.h"

/* Grow the mesh buffer so that `need` more bytes may fit: to twice its size,
 * or more when `need` asks for it, never past info.grow_limit. Records the
 * copy into the frame's command buffer (s->frame_cmd), switches s->buffer
 * and s->info.buffer_size, counts it, and prints one line. Returns false
 * (and changes nothing) when growth is off, the limit is reached, or the
 * device refuses (counted in grow_failures). */
bool streamer_grow(streamer* s, uint64_t need);

#endif
