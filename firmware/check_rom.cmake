# Build-time check of the firmware ROM layout:
#   cmake -DROM=<firmware.bin> -P check_rom.cmake
# The image must be exactly 64 KiB (VMM_FW_ROM_SIZE) and its reset vector
# (offset 0xfff0, linear 0xfffffff0) must start with a near JMP (0xe9 rel16)
# whose target lies inside the ROM below the reset vector.
file(SIZE "${ROM}" size)
if(NOT size EQUAL 65536)
  message(FATAL_ERROR "${ROM}: size is ${size} bytes, must be 65536 (VMM_FW_ROM_SIZE)")
endif()
file(READ "${ROM}" vec OFFSET 65520 LIMIT 3 HEX)
string(SUBSTRING "${vec}" 0 2 opcode)
if(NOT opcode STREQUAL "e9")
  message(FATAL_ERROR "${ROM}: reset vector at 0xfff0 starts with 0x${opcode}, expected 0xe9 (jmp rel16)")
endif()
string(SUBSTRING "${vec}" 2 2 lo)
string(SUBSTRING "${vec}" 4 2 hi)
math(EXPR target "(0xfff3 + 0x${hi}${lo}) & 0xffff" OUTPUT_FORMAT HEXADECIMAL)
if(target GREATER_EQUAL 0xfff0)
  message(FATAL_ERROR "${ROM}: reset vector jumps to ${target}, not into the ROM body")
endif()
