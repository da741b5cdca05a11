# cmake/install.cmake: what `cmake --install` puts where, and the CMake package that lets another
# project `find_package(vmmu)` (examples/consumer/ is such a project; tests/package/ builds it
# against an installed tree).
#
# Installed:
#   lib/               the libraries vmmu::vmmu_model, vmmu_trace, vmmu_guest, vmmu_vmm,
#                      vmmu_policy, vmmu_run (static; the RTL backend stays inside the `vmmu` command)
#   include/vmmu/      their public headers
#   bin/vmmu           the command (imported target vmmu::vmmu)
#   share/vmmu/rtl/    the SystemVerilog sources and sources.f (package first, top last)
#   share/vmmu/waves/  the GTKWave save file and its filter files
#   lib/cmake/vmmu/    vmmuConfig.cmake, vmmuConfigVersion.cmake, vmmuTargets.cmake
#   lib/pkgconfig/     vmmu.pc
# vmmuConfig.cmake also sets vmmu_RTL_DIR, vmmu_RTL_SOURCES (absolute paths in compilation order,
# ready for verilate(... SOURCES ${vmmu_RTL_SOURCES} TOP_MODULE ${vmmu_RTL_TOP})), vmmu_RTL_TOP,
# vmmu_WAVES_SAVE_FILE and vmmu_EXECUTABLE.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(vmmu_installed_libraries vmmu_model vmmu_trace vmmu_guest vmmu_vmm vmmu_policy vmmu_run)
set(vmmu_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/vmmu)

# Each library names its headers by their source-tree folder; installed, they all live in
# include/. One rule here instead of a generator expression in every folder's CMakeLists.txt.
foreach(library IN LISTS vmmu_installed_libraries)
  get_target_property(source_includes ${library} INTERFACE_INCLUDE_DIRECTORIES)
  set(both_includes)
  foreach(dir IN LISTS source_includes)
    if(dir MATCHES "^\\$<")  # already a generator expression
      list(APPEND both_includes "${dir}")
    else()
      list(APPEND both_includes "$<BUILD_INTERFACE:${dir}>")
      install(DIRECTORY ${dir}/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT devel
              FILES_MATCHING PATTERN "*.h")
    endif()
  endforeach()
  list(APPEND both_includes "$<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>")
  set_target_properties(${library} PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${both_includes}")
endforeach()

# A sanitizer build (VMMU_SANITIZE) installs instrumented objects: whoever links them needs the
# sanitizer runtimes, so the installed targets and vmmu.pc carry the link flag.
set(vmmu_sanitize_link "-fsanitize=address,undefined")
if(VMMU_SANITIZE)
  foreach(library IN LISTS vmmu_installed_libraries)
    target_link_options(${library} INTERFACE $<INSTALL_INTERFACE:${vmmu_sanitize_link}>)
  endforeach()
endif()

install(TARGETS ${vmmu_installed_libraries} EXPORT vmmuTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT devel)
if(TARGET vmmu)
  install(TARGETS vmmu EXPORT vmmuTargets RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()
install(EXPORT vmmuTargets NAMESPACE vmmu:: DESTINATION ${vmmu_cmake_dir} COMPONENT devel)

# The RTL as sources: a consumer verilates or synthesizes it itself.
file(STRINGS ${PROJECT_SOURCE_DIR}/rtl/sources.f vmmu_rtl_files REGEX "^[^#].*\\.sv$")
list(TRANSFORM vmmu_rtl_files PREPEND ${PROJECT_SOURCE_DIR}/rtl/)
install(FILES ${vmmu_rtl_files} ${PROJECT_SOURCE_DIR}/rtl/sources.f ${PROJECT_SOURCE_DIR}/rtl/README.md
        DESTINATION ${CMAKE_INSTALL_DATADIR}/vmmu/rtl)
install(FILES ${PROJECT_SOURCE_DIR}/tb/waves/vmmu.gtkw DESTINATION ${CMAKE_INSTALL_DATADIR}/vmmu/waves)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/tb/waves/filters DESTINATION ${CMAKE_INSTALL_DATADIR}/vmmu/waves)

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/vmmuConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/vmmuConfig.cmake
                              INSTALL_DESTINATION ${vmmu_cmake_dir}
                              PATH_VARS CMAKE_INSTALL_DATADIR CMAKE_INSTALL_BINDIR)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/vmmuConfigVersion.cmake
                                 COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/vmmuConfig.cmake ${PROJECT_BINARY_DIR}/vmmuConfigVersion.cmake
        DESTINATION ${vmmu_cmake_dir} COMPONENT devel)

# pkg-config: the same libraries, in link order (users first, zstd last).
set(vmmu_pc_libs "")
foreach(library vmmu_run vmmu_policy vmmu_vmm vmmu_guest vmmu_trace vmmu_model)
  string(APPEND vmmu_pc_libs " -l${library}")
endforeach()
if(VMMU_SANITIZE)
  string(APPEND vmmu_pc_libs " ${vmmu_sanitize_link}")
endif()
configure_file(${PROJECT_SOURCE_DIR}/cmake/vmmu.pc.in ${PROJECT_BINARY_DIR}/vmmu.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/vmmu.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT devel)
