"""The ground floor: value types and units (`types`), errors (`errors`), the `Robot`
interface (`robot`), robot descriptions (`robots`), the rigid-body model (`model`), the robot
observation vector (`observations`) and the project's data folders (`paths`)."""
