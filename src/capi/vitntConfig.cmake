# find_package(vitnt): the imported target vitnt::vitnt (libvitnt.so and its headers).
# libvitnt.so carries its own dependencies (oneDNN, OpenCV, OpenMP): nothing else to find.
include("${CMAKE_CURRENT_LIST_DIR}/vitntTargets.cmake")
