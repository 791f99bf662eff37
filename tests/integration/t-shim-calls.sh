#!/usr/bin/env bash
# t-shim-calls: one C program per tricky call (read/pread answered with the daemon's bytes, EFAULT, preadv2/preadv/readv, sendfile, copy_file_range, splice, fopen+fread/getline, dup/dup2/dup3/F_DUPFD, mmap/mremap, chdir + relative open) under the shim, cold (fresh import) and warm (after a full read): every byte equals the source's, never zeros.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

ms_shim_setup "retries = 2" "timeout = 5s"
big=$MS_SRC/big.bin
nested=$MS_SRC/dir/sub/nested.bin

ms_prog_cold_warm shim_preadv2 big.bin /models/big.bin "$big"
ms_prog_cold_warm shim_read big.bin /models/big.bin "$big"
ms_prog_cold_warm shim_sendfile big.bin /models/big.bin "$big"
ms_prog_cold_warm shim_copyrange big.bin /models/big.bin "$big" "$T/copyrange.out"
ms_prog_cold_warm shim_splice big.bin /models/big.bin "$big"
ms_prog_cold_warm shim_stdio big.bin /models/big.bin "$big"
ms_prog_cold_warm shim_stdio small.txt /models/small.txt "$MS_SRC/small.txt"
ms_prog_cold_warm shim_dup big.bin /models/big.bin "$big"
ms_prog_cold_warm shim_mmap big.bin /models/big.bin "$big"
ms_prog_cold_warm shim_mmap dir/sub/nested.bin /models/dir/sub/nested.bin "$nested"
ms_prog_cold_warm shim_chdir dir/sub/nested.bin /models/dir sub/nested.bin "$nested"
ms_prog_cold_warm shim_chdir dir/sub/deeper/x.txt /models/dir/sub/deeper x.txt "$MS_SRC/dir/sub/deeper/x.txt"
ms_done
