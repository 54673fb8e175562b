# Debian's small libopencv-{core,imgproc,imgcodecs}-dev ship no OpenCVConfig.cmake (only the
# 374 MiB libopencv-dev does), so find the three libraries and wrap them in one imported target.
#   OpenCVParts::OpenCVParts   OpenCVParts_FOUND   OpenCVParts_INCLUDE_DIR
find_path(OpenCVParts_INCLUDE_DIR opencv2/core.hpp PATH_SUFFIXES opencv4)
set(_dlw_cv_libs)
foreach(_part core imgproc imgcodecs)
    find_library(OpenCVParts_${_part}_LIBRARY NAMES opencv_${_part})
    list(APPEND _dlw_cv_libs OpenCVParts_${_part}_LIBRARY)
endforeach()
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(OpenCVParts REQUIRED_VARS OpenCVParts_INCLUDE_DIR ${_dlw_cv_libs})
if(OpenCVParts_FOUND AND NOT TARGET OpenCVParts::OpenCVParts)
    add_library(OpenCVParts::OpenCVParts INTERFACE IMPORTED)
    set_target_properties(OpenCVParts::OpenCVParts PROPERTIES
        INTERFACE_INCLUDE_DIRECTORIES "${OpenCVParts_INCLUDE_DIR}"
        INTERFACE_LINK_LIBRARIES "${OpenCVParts_imgcodecs_LIBRARY};${OpenCVParts_imgproc_LIBRARY};${OpenCVParts_core_LIBRARY}")
endif()
