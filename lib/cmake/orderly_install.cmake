# orderly_install.cmake - install rules: headers, libraries, the CMake package
# (orderlyConfig.cmake exporting orderly::orderly and, when the Vulkan manager
# is built, orderly::orderly_vk) and the pkg-config files orderly.pc and
# orderly-vk.pc. Included from lib/CMakeLists.txt after both targets exist.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(ORDERLY_CMAKE_INSTALL_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/orderly CACHE STRING
    "Where orderlyConfig.cmake is installed, relative to the prefix")
mark_as_advanced(ORDERLY_CMAKE_INSTALL_DIR)

# The core: exported as orderly::orderly, the name of its alias in the build tree.
set_target_properties(orderly_core PROPERTIES EXPORT_NAME orderly)
install(TARGETS orderly_core EXPORT orderlyTargets
    ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
    LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
    RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES ${PROJECT_SOURCE_DIR}/lib/include/orderly/orderly.h
    DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/orderly)
install(EXPORT orderlyTargets NAMESPACE orderly:: DESTINATION ${ORDERLY_CMAKE_INSTALL_DIR})

# The Vulkan manager, in its own export set so that its file (and with it the
# Vulkan dependency) exists only when the manager is built.
set(ORDERLY_HAS_VK OFF)
if(TARGET orderly_vk)
    set(ORDERLY_HAS_VK ON)
    set_target_properties(orderly_vk PROPERTIES EXPORT_NAME orderly_vk OUTPUT_NAME orderly_vk)
    install(TARGETS orderly_vk EXPORT orderlyVkTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
    install(FILES ${PROJECT_SOURCE_DIR}/lib/include/orderly/orderly_vk.h
        ${PROJECT_SOURCE_DIR}/lib/include/orderly/orderly_vk_volk.h
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/orderly)
    install(EXPORT orderlyVkTargets NAMESPACE orderly:: DESTINATION ${ORDERLY_CMAKE_INSTALL_DIR})
endif()

configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/orderlyConfig.cmake.in
    ${PROJECT_BINARY_DIR}/orderlyConfig.cmake
    INSTALL_DESTINATION ${ORDERLY_CMAKE_INSTALL_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/orderlyConfigVersion.cmake
    VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/orderlyConfig.cmake ${PROJECT_BINARY_DIR}/orderlyConfigVersion.cmake
    DESTINATION ${ORDERLY_CMAKE_INSTALL_DIR})

# pkg-config: paths relative to the .pc file, so the install tree can move.
set(_oa_pc_dir ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
    set(ORDERLY_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
    set(ORDERLY_PC_LIBDIR "${CMAKE_INSTALL_LIBDIR}")
else()
    file(RELATIVE_PATH _oa_pc_up /${_oa_pc_dir} /)
    string(REGEX REPLACE "/$" "" _oa_pc_up "${_oa_pc_up}")
    set(ORDERLY_PC_PREFIX "\${pcfiledir}/${_oa_pc_up}")
    set(ORDERLY_PC_LIBDIR "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
endif()
if(IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
    set(ORDERLY_PC_INCLUDEDIR "${CMAKE_INSTALL_INCLUDEDIR}")
else()
    set(ORDERLY_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
endif()
# A static orderly_vk needs the thread library at the application's link; a
# shared one has it already. The manager needs only the Vulkan headers, so
# vulkan.pc (where the system has one) is a private requirement: its Cflags
# reach the application, its -lvulkan does not.
set(ORDERLY_PC_VK_LIBS "")
set(ORDERLY_PC_VK_LIBS_PRIVATE "-pthread")
set(ORDERLY_PC_VK_REQUIRES_PRIVATE "")
find_package(PkgConfig QUIET)
if(PKG_CONFIG_FOUND)
    pkg_check_modules(_oa_pc_vulkan QUIET vulkan)
    if(_oa_pc_vulkan_FOUND)
        set(ORDERLY_PC_VK_REQUIRES_PRIVATE "vulkan")
    endif()
endif()
if(NOT BUILD_SHARED_LIBS)
    set(ORDERLY_PC_VK_LIBS " ${ORDERLY_PC_VK_LIBS_PRIVATE}")
endif()
configure_file(${CMAKE_CURRENT_LIST_DIR}/orderly.pc.in ${PROJECT_BINARY_DIR}/orderly.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/orderly.pc DESTINATION ${_oa_pc_dir})
if(ORDERLY_HAS_VK)
    configure_file(${CMAKE_CURRENT_LIST_DIR}/orderly-vk.pc.in ${PROJECT_BINARY_DIR}/orderly-vk.pc @ONLY)
    install(FILES ${PROJECT_BINARY_DIR}/orderly-vk.pc DESTINATION ${_oa_pc_dir})
endif()
