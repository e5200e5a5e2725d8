// Hex and base64 text for digests and checksums.
#ifndef GETMFS_INTEGRITY_ENCODING_H_
#define GETMFS_INTEGRITY_ENCODING_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace getmfs::integrity {

// Lowercase hex of n bytes.
std::string HexEncode(const void* data, std::size_t n);
// Decodes hex (either case). nullopt when the length is odd or a character is not hex.
std::optional<std::string> HexDecode(std::string_view hex);
// Whether text is exactly n hex digits (either case).
bool IsHex(std::string_view text, std::size_t n);

// Standard base64 (RFC 4648 section 4) with '=' padding.
std::string Base64Encode(const void* data, std::size_t n);
// Decodes standard base64; padding is optional but, when present, must be correct.
// nullopt on any other character or an impossible length.
std::optional<std::string> Base64Decode(std::string_view text);

// The 8 lowercase hex digits of a CRC32C (big-endian, as `crc32c` tools print it).
std::string Crc32cHex(std::uint32_t crc);
// The base64 of a CRC32C's big-endian 4 bytes, as GCS's x-goog-hash shows it.
std::string Crc32cBase64(std::uint32_t crc);

std::string ToLower(std::string_view text);
bool EqualsIgnoreCase(std::string_view a, std::string_view b);
std::string_view TrimWhitespace(std::string_view text);

}  // namespace getmfs::integrity

#endif  // GETMFS_INTEGRITY_ENCODING_H_
