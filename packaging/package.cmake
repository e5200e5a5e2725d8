# Man pages, bash completion and the Debian package (cpack -G DEB), included by
# CMakeLists.txt. A package is built with the prefix it installs to:
#   cmake -S . -B build-deb -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr -DGETMFS_MOUNT_HELPER_DIR=/sbin -DGETMFS_TESTS=OFF
#   cmake --build build-deb && (cd build-deb && cpack -G DEB)

# getmfs(1) and getm(1), generated from the built program's --help of every subcommand.
set(GETMFS_MAN_DIR ${CMAKE_BINARY_DIR}/man)
add_custom_command(
  OUTPUT ${GETMFS_MAN_DIR}/getmfs.1.gz ${GETMFS_MAN_DIR}/getm.1.gz
  COMMAND bash ${CMAKE_SOURCE_DIR}/packaging/man/make-man.sh $<TARGET_FILE:getmfs> ${GETMFS_MAN_DIR} ${PROJECT_VERSION}
  DEPENDS getmfs ${CMAKE_SOURCE_DIR}/packaging/man/make-man.sh
  COMMENT "Writing getmfs(1) and getm(1) from --help")
add_custom_target(man ALL DEPENDS ${GETMFS_MAN_DIR}/getmfs.1.gz ${GETMFS_MAN_DIR}/getm.1.gz)
install(FILES ${GETMFS_MAN_DIR}/getmfs.1.gz ${GETMFS_MAN_DIR}/getm.1.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)

# bash completion (bash-completion loads completions/NAME for command NAME).
install(FILES packaging/completion/getmfs.bash DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions
  RENAME getmfs)
install(FILES packaging/completion/getmfs.bash DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions
  RENAME getm)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME getmfs)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "getmfs developers <getmfs-dev@lists.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "signed URLs as verified, read-only files (FUSE), and fast verified downloads")
set(CPACK_PACKAGE_DESCRIPTION "getmfs mounts the URLs of a manifest (S3 and GCS signed URLs, GA4GH DRS URIs) as
read-only files whose reads are prefetched range requests into a shared-memory cache, each
object verified on completion (crc32c, md5, S3 ETags). getm is its download command, a
drop-in for getm's command line. Includes libgetm, the mount(8) helper and systemd units.")
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION utils)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)            # libcurl, libfuse3, libssl, libisal, ... from the binaries
set(CPACK_DEBIAN_PACKAGE_DEPENDS "fuse3")         # fusermount3, which libfuse runs to mount
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)      # libgetm.so.0 (and the ldconfig trigger)
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "bash-completion")
set(CPACK_STRIP_FILES ON)                          # no debug info in the package
set(CPACK_WARN_ON_ABSOLUTE_INSTALL_DESTINATION OFF)   # /sbin/mount.fuse.getmfs, where mount(8) looks
include(CPack)
