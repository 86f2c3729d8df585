// The one table of applets. Add a line here and a file in src/applets/.
#include "applets/applet.h"

namespace ctk {

extern const Applet kBootApplet;
extern const Applet kHelpApplet;
extern const Applet kMkinitfsApplet;
extern const Applet kMkrootfsApplet;
extern const Applet kVminitdApplet;

std::span<const Applet* const> all_applets() {
  static const Applet* const table[] = {
      &kBootApplet,
      &kHelpApplet,
      &kMkinitfsApplet,
      &kMkrootfsApplet,
      &kVminitdApplet,
  };
  return table;
}

}  // namespace ctk
