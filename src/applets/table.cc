// The one table of applets. Add a line here and a file in src/applets/.
#include "applets/applet.h"

namespace ctk {

extern const Applet kHelpApplet;
extern const Applet kBootApplet;
extern const Applet kImagesApplet;
extern const Applet kInspectApplet;
extern const Applet kLoadApplet;
extern const Applet kLoginApplet;
extern const Applet kLogoutApplet;
extern const Applet kMkinitfsApplet;
extern const Applet kMkrootfsApplet;
extern const Applet kPullApplet;
extern const Applet kRmiApplet;
extern const Applet kRunApplet;
extern const Applet kSaveApplet;
extern const Applet kServeApplet;
extern const Applet kTagApplet;
extern const Applet kAttachApplet;
extern const Applet kCpApplet;
extern const Applet kCreateApplet;
extern const Applet kExecApplet;
extern const Applet kKillApplet;
extern const Applet kLogsApplet;
extern const Applet kNetworkApplet;
extern const Applet kPortApplet;
extern const Applet kProfileApplet;
extern const Applet kPsApplet;
extern const Applet kRenameApplet;
extern const Applet kRestartApplet;
extern const Applet kRmApplet;
extern const Applet kStartApplet;
extern const Applet kStopApplet;
extern const Applet kTopApplet;
extern const Applet kVolumeApplet;
extern const Applet kSuperviseApplet;
extern const Applet kNetworkSwitchApplet;
extern const Applet kWaitApplet;
extern const Applet kStatsApplet;
extern const Applet kVminitdApplet;

std::span<const Applet* const> all_applets() {
  static const Applet* const table[] = {
      &kHelpApplet,
      &kBootApplet,
      &kImagesApplet,
      &kInspectApplet,
      &kLoadApplet,
      &kLoginApplet,
      &kLogoutApplet,
      &kMkinitfsApplet,
      &kMkrootfsApplet,
      &kPullApplet,
      &kRmiApplet,
      &kRunApplet,
      &kSaveApplet,
      &kServeApplet,
      &kTagApplet,
      &kAttachApplet,
      &kCpApplet,
      &kCreateApplet,
      &kExecApplet,
      &kKillApplet,
      &kLogsApplet,
      &kNetworkApplet,
      &kPortApplet,
      &kProfileApplet,
      &kPsApplet,
      &kRenameApplet,
      &kRestartApplet,
      &kRmApplet,
      &kStartApplet,
      &kStatsApplet,
      &kStopApplet,
      &kSuperviseApplet,
      &kNetworkSwitchApplet,
      &kTopApplet,
      &kVolumeApplet,
      &kWaitApplet,
      &kVminitdApplet,
  };
  return table;
}

}  // namespace ctk
