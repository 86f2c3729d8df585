// ext4 on-disk structures, as ctk writes and reads them: 4 KiB blocks,
// 256-byte inodes, 32-byte group descriptors (no 64bit feature), no metadata
// checksums. All fields are little-endian; ctk only builds for little-endian hosts.
// Reference: the kernel's Documentation/filesystems/ext4 (on-disk format).
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>

namespace ctk::ext4 {

static_assert(std::endian::native == std::endian::little, "ext4 structures are little-endian");

constexpr uint32_t kBlockSize = 4096;
constexpr uint32_t kLogBlockSize = 2;  // 1024 << 2
constexpr uint32_t kBlocksPerGroup = kBlockSize * 8;
constexpr uint32_t kInodeSize = 256;
constexpr uint32_t kInodesPerBlock = kBlockSize / kInodeSize;
constexpr uint32_t kExtraIsize = 32;  // i_extra_isize: up to and including i_projid
constexpr uint32_t kDescSize = 32;
constexpr uint32_t kDescsPerBlock = kBlockSize / kDescSize;
constexpr uint16_t kSuperMagic = 0xEF53;
constexpr uint32_t kSuperOffset = 1024;

// Reserved inode numbers.
constexpr uint32_t kRootIno = 2;
constexpr uint32_t kJournalIno = 8;
constexpr uint32_t kFirstIno = 11;  // lost+found, then ordinary files

// Feature flags.
constexpr uint32_t kCompatHasJournal = 0x4;
constexpr uint32_t kCompatExtAttr = 0x8;
constexpr uint32_t kCompatDirIndex = 0x20;
constexpr uint32_t kCompatSparseSuper2 = 0x200;
constexpr uint32_t kIncompatFiletype = 0x2;
constexpr uint32_t kIncompatExtents = 0x40;
constexpr uint32_t kIncompatFlexBg = 0x200;
constexpr uint32_t kRoCompatSparseSuper = 0x1;
constexpr uint32_t kRoCompatLargeFile = 0x2;
constexpr uint32_t kRoCompatHugeFile = 0x8;
constexpr uint32_t kRoCompatDirNlink = 0x20;
constexpr uint32_t kRoCompatExtraIsize = 0x40;

constexpr uint32_t kFlagsUnsignedHash = 0x2;  // s_flags
constexpr uint8_t kHashHalfMd4 = 1;           // s_def_hash_version, dx_root hash_version

// Inode flags.
constexpr uint32_t kIndexFl = 0x1000;     // hashed directory
constexpr uint32_t kExtentsFl = 0x80000;  // i_block holds an extent tree

// Directories with more subdirectories than this report a link count of 1 (dir_nlink).
constexpr uint32_t kMaxLinks = 65000;

#pragma pack(push, 1)

struct SuperBlock {
  uint32_t inodes_count;
  uint32_t blocks_count_lo;
  uint32_t r_blocks_count_lo;
  uint32_t free_blocks_count_lo;
  uint32_t free_inodes_count;
  uint32_t first_data_block;
  uint32_t log_block_size;
  uint32_t log_cluster_size;
  uint32_t blocks_per_group;
  uint32_t clusters_per_group;
  uint32_t inodes_per_group;
  uint32_t mtime;
  uint32_t wtime;
  uint16_t mnt_count;
  int16_t max_mnt_count;
  uint16_t magic;
  uint16_t state;
  uint16_t errors;
  uint16_t minor_rev_level;
  uint32_t lastcheck;
  uint32_t checkinterval;
  uint32_t creator_os;
  uint32_t rev_level;
  uint16_t def_resuid;
  uint16_t def_resgid;
  uint32_t first_ino;
  uint16_t inode_size;
  uint16_t block_group_nr;
  uint32_t feature_compat;
  uint32_t feature_incompat;
  uint32_t feature_ro_compat;
  uint8_t uuid[16];
  char volume_name[16];
  char last_mounted[64];
  uint32_t algorithm_usage_bitmap;
  uint8_t prealloc_blocks;
  uint8_t prealloc_dir_blocks;
  uint16_t reserved_gdt_blocks;
  uint8_t journal_uuid[16];
  uint32_t journal_inum;
  uint32_t journal_dev;
  uint32_t last_orphan;
  uint32_t hash_seed[4];
  uint8_t def_hash_version;
  uint8_t jnl_backup_type;
  uint16_t desc_size;
  uint32_t default_mount_opts;
  uint32_t first_meta_bg;
  uint32_t mkfs_time;
  uint32_t jnl_blocks[17];
  uint32_t blocks_count_hi;
  uint32_t r_blocks_count_hi;
  uint32_t free_blocks_count_hi;
  uint16_t min_extra_isize;
  uint16_t want_extra_isize;
  uint32_t flags;
  uint16_t raid_stride;
  uint16_t mmp_interval;
  uint64_t mmp_block;
  uint32_t raid_stripe_width;
  uint8_t log_groups_per_flex;
  uint8_t checksum_type;
  uint16_t reserved_pad;
  uint64_t kbytes_written;
  uint8_t snapshot_and_errors[0x24C - 0x180];  // snapshot and error-report fields, unused
  uint32_t backup_bgs[2];
  uint8_t rest[1024 - 0x254];
};
static_assert(sizeof(SuperBlock) == 1024);
static_assert(offsetof(SuperBlock, hash_seed) == 0xEC);
static_assert(offsetof(SuperBlock, jnl_blocks) == 0x10C);
static_assert(offsetof(SuperBlock, log_groups_per_flex) == 0x174);
static_assert(offsetof(SuperBlock, backup_bgs) == 0x24C);

struct GroupDesc {
  uint32_t block_bitmap;
  uint32_t inode_bitmap;
  uint32_t inode_table;
  uint16_t free_blocks_count;
  uint16_t free_inodes_count;
  uint16_t used_dirs_count;
  uint16_t flags;
  uint32_t exclude_bitmap;
  uint16_t block_bitmap_csum;
  uint16_t inode_bitmap_csum;
  uint16_t itable_unused;
  uint16_t checksum;
};
static_assert(sizeof(GroupDesc) == kDescSize);

struct Inode {
  uint16_t mode;
  uint16_t uid;
  uint32_t size_lo;
  uint32_t atime;
  uint32_t ctime;
  uint32_t mtime;
  uint32_t dtime;
  uint16_t gid;
  uint16_t links_count;
  uint32_t blocks_lo;
  uint32_t flags;
  uint32_t version;
  uint32_t block[15];
  uint32_t generation;
  uint32_t file_acl_lo;
  uint32_t size_high;
  uint32_t obso_faddr;
  uint16_t blocks_high;
  uint16_t file_acl_high;
  uint16_t uid_high;
  uint16_t gid_high;
  uint16_t checksum_lo;
  uint16_t reserved;
  uint16_t extra_isize;
  uint16_t checksum_hi;
  uint32_t ctime_extra;
  uint32_t mtime_extra;
  uint32_t atime_extra;
  uint32_t crtime;
  uint32_t crtime_extra;
  uint32_t version_hi;
  uint32_t projid;
  uint8_t inline_xattrs[kInodeSize - 160];
};
static_assert(sizeof(Inode) == kInodeSize);
static_assert(offsetof(Inode, extra_isize) == 128);
static_assert(offsetof(Inode, inline_xattrs) == 128 + kExtraIsize);

constexpr uint16_t kExtentMagic = 0xF30A;
constexpr uint32_t kMaxExtentLen = 32768;  // initialized extent

struct ExtentHeader {
  uint16_t magic;
  uint16_t entries;
  uint16_t max;
  uint16_t depth;
  uint32_t generation;
};
struct ExtentLeaf {
  uint32_t block;  // first logical block
  uint16_t len;
  uint16_t start_hi;
  uint32_t start_lo;
};
struct ExtentIndex {
  uint32_t block;  // first logical block covered
  uint32_t leaf_lo;
  uint16_t leaf_hi;
  uint16_t unused;
};
static_assert(sizeof(ExtentHeader) == 12 && sizeof(ExtentLeaf) == 12 && sizeof(ExtentIndex) == 12);

struct Dirent {
  uint32_t inode;
  uint16_t rec_len;
  uint8_t name_len;
  uint8_t file_type;
  // name follows
};

// Directory entry file types.
enum : uint8_t {
  kFtUnknown = 0, kFtReg = 1, kFtDir = 2, kFtChr = 3, kFtBlk = 4, kFtFifo = 5, kFtSock = 6, kFtSymlink = 7,
};

// Hashed directory (htree) block 0, after the "." and ".." entries.
struct DxRootInfo {
  uint32_t reserved_zero;
  uint8_t hash_version;
  uint8_t info_length;  // 8
  uint8_t indirect_levels;
  uint8_t unused_flags;
};
struct DxCountLimit {
  uint16_t limit;
  uint16_t count;
};
struct DxEntry {
  uint32_t hash;
  uint32_t block;
};
constexpr uint32_t kDxRootLimit = (kBlockSize - 32) / sizeof(DxEntry);  // 508
constexpr uint32_t kDxNodeLimit = (kBlockSize - 8) / sizeof(DxEntry);   // 511

// Extended attributes.
constexpr uint32_t kXattrMagic = 0xEA020000;
struct XattrBlockHeader {
  uint32_t magic;
  uint32_t refcount;
  uint32_t blocks;
  uint32_t hash;
  uint32_t checksum;
  uint32_t reserved[3];
};
struct XattrEntry {
  uint8_t name_len;
  uint8_t name_index;
  uint16_t value_offs;
  uint32_t value_inum;
  uint32_t value_size;
  uint32_t hash;
  // name follows, padded to 4 bytes
};
static_assert(sizeof(XattrBlockHeader) == 32 && sizeof(XattrEntry) == 16);

#pragma pack(pop)

// jbd2 journal superblock (big-endian on disk).
constexpr uint32_t kJournalMagic = 0xC03B3998;
constexpr uint32_t kJournalSuperblockV2 = 4;

constexpr uint64_t div_round_up(uint64_t a, uint64_t b) { return (a + b - 1) / b; }
constexpr uint64_t round_up(uint64_t a, uint64_t b) { return div_round_up(a, b) * b; }

}  // namespace ctk::ext4
