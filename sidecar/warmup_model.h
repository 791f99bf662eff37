/*
 * warmup_model.h: what `modelshim warmup` knows of checkpoints (cmd_warmup.c calls it). A
 * Hugging Face index (*.index.json) stands for itself and every shard its weight_map names.
 * Reads only through the daemon and the cache; never writes the cache itself.
 */
#ifndef MS_WARMUP_MODEL_H
#define MS_WARMUP_MODEL_H

#include <stdbool.h>

#include "client.h"
#include "config.h"

/* True for the key of a sharded checkpoint's index: "*.index.json". */
bool warm_is_index(const char *key);

/*
 * Makes index KEY of mount MOUNT present (through CL), parses its weight_map and calls ADD for
 * each shard it names, once each, as a key of the same mount (a name relative to the index's
 * directory). 0, or -errno after one message on stderr naming the index and what is wrong.
 */
int warm_index_shards(const struct ms_config *cfg, struct ms_client *cl, unsigned mount,
    const char *key, int (*add)(void *arg, unsigned mount, const char *key), void *arg)
	__attribute__((warn_unused_result));

#endif
