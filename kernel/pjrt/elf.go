package pjrt

import (
	"debug/elf"
	"fmt"
)

// EntryPoint is the symbol every PJRT plugin exports; GoMLX (go-xla) calls it to get the plugin's API table.
const EntryPoint = "GetPjrtApi"

// CheckPlugin opens the shared library at path and checks that it is an ELF file exporting EntryPoint as a
// defined dynamic function symbol. It does not load the library.
func CheckPlugin(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("plugin %q is not a readable ELF shared library: %w", path, err)
	}
	defer f.Close()
	syms, err := f.DynamicSymbols()
	if err != nil {
		return fmt.Errorf("plugin %q has no dynamic symbol table: %w", path, err)
	}
	for _, s := range syms {
		if s.Name == EntryPoint && s.Section != elf.SHN_UNDEF && elf.ST_TYPE(s.Info) == elf.STT_FUNC {
			return nil
		}
	}
	return fmt.Errorf("plugin %q does not export %s: it is not a PJRT plugin", path, EntryPoint)
}
