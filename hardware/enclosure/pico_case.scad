// Enclosure for the Pico build: Raspberry Pi Pico + 0.96" SSD1306 OLED + two buttons.
//
//   part = "tray";   // the bottom: the Pico screws onto four posts (M2 x 6)
//   part = "lid";    // the top: OLED window, OLED posts (M2 x 4), two button holes
//   part = "caps";   // two printed plungers that reach the 6x6 mm switches under the lid
//   part = "all";    // everything laid out for a look (not for printing)
//
// Export each part as STL (openscad -D 'part="lid"' -o lid.stl pico_case.scad) and print
// in PLA, 0.2 mm layers, no supports; the lid prints upside down (its outside on the bed).
// The lid snaps onto the tray (a 1 mm lip) and can also be glued.
//
// Layout, looking at the lid: the micro-USB end is at the bottom, the OLED at the top,
// LEFT and RIGHT buttons between them. The switches sit on a strip of perfboard glued
// under the lid (or hot-glued to the lid directly), wired as in ../pico/wiring.svg.
//
// All sizes in mm. Check your OLED module against oled_* below: 0.96" modules differ by
// a few tenths, and some have their mounting holes elsewhere.

part = "all";

// ---- parts being housed -------------------------------------------------------------
pico_l = 51;  pico_w = 21;  pico_t = 1.0;
pico_holes = [[2, 4.8], [2, 16.2], [49, 4.8], [49, 16.2]];  // from the PCB corner, per datasheet
usb_w = 8;  usb_h = 3;                  // micro-USB receptacle on the short edge
plug_w = 12; plug_h = 8;                 // room for a cable's overmould

oled_l = 27.3;  oled_w = 27.8;  oled_t = 1.2;
oled_holes = [[2.0, 2.0], [25.3, 2.0], [2.0, 25.8], [25.3, 25.8]];
view_l = 24;  view_w = 13;              // window over the glass (active area 21.7 x 10.9)
view_off = 1.5;                         // glass centre is this far from the PCB centre, away from the pins

button_d = 4.2;                         // hole for the printed plunger
button_pitch = 16;                      // LEFT and RIGHT, centre to centre
switch_h = 5.0;                         // 6x6 mm tactile switch on perfboard, board to plunger top

// ---- case ---------------------------------------------------------------------------
wall = 2;
floor_t = 2;
lid_t = 2;
gap = 0.3;                              // clearance around boards
post_d = 5;  post_hole = 1.7;           // M2 self-tapping into plastic
pico_standoff = 3;                      // room for solder joints under the Pico
inner_h = 14;                           // floor to lid underside: Pico + wires + switches

in_l = 2 * gap + max(pico_l, oled_l + 30);  // OLED plus the button row above the USB end
in_w = 2 * gap + max(pico_w, oled_w) + 2;
out_l = in_l + 2 * wall;
out_w = in_w + 2 * wall;
$fn = 40;

module rounded_box(l, w, h, r = 2) {
    hull() for (x = [r, l - r], y = [r, w - r]) translate([x, y, 0]) cylinder(r = r, h = h);
}

module post(h, hole) {
    difference() {
        cylinder(d = post_d, h = h);
        translate([0, 0, 0.6]) cylinder(d = hole, h = h);
    }
}

// Pico origin inside the tray: USB end at x = 0 side, centred across
pico_x = wall + gap;
pico_y = wall + (in_w - pico_w) / 2;

module tray() {
    difference() {
        rounded_box(out_l, out_w, floor_t + inner_h);
        translate([wall, wall, floor_t]) cube([in_l, in_w, inner_h + 1]);
        // micro-USB opening in the end wall, level with the receptacle on the Pico
        translate([-1, wall + in_w / 2 - plug_w / 2, floor_t + pico_standoff + pico_t - 1])
            cube([wall + 2, plug_w, plug_h]);
    }
    // Pico posts
    for (h = pico_holes)
        translate([pico_x + h[0], pico_y + h[1], floor_t - 0.01]) post(pico_standoff, post_hole);
}

// OLED position in the lid (lid coordinates = tray coordinates, looking from above)
oled_x = out_l - wall - gap - oled_l;
oled_y = wall + (in_w - oled_w) / 2;

module lid() {
    lip = 1;
    difference() {
        union() {
            rounded_box(out_l, out_w, lid_t);
            // lip that fits inside the tray walls
            translate([wall + gap, wall + gap, -lip]) cube([in_l - 2 * gap, in_w - 2 * gap, lip]);
        }
        translate([wall + gap + 1, wall + gap + 1, -lip - 0.01])
            cube([in_l - 2 * gap - 2, in_w - 2 * gap - 2, lip + 0.01]);
        // window over the OLED glass
        translate([oled_x + oled_l / 2 - view_l / 2, oled_y + oled_w / 2 - view_w / 2 + view_off, -1])
            cube([view_l, view_w, lid_t + 2]);
        // button holes, LEFT and RIGHT as seen from above (y grows to the left)
        for (s = [-1, 1])
            translate([button_x(), out_w / 2 + s * button_pitch / 2, -1]) cylinder(d = button_d, h = lid_t + 2);
        // engraved marks beside the holes: L (up / reject), R (down / approve)
        for (b = [[1, "L"], [-1, "R"]])
            translate([button_x() - 5.5, out_w / 2 + b[0] * button_pitch / 2, lid_t - 0.4])
                rotate([0, 0, -90]) linear_extrude(1) text(b[1], size = 3, halign = "center", valign = "center");
    }
    // OLED posts hang down from the lid; the screws go up through the module into them
    for (h = oled_holes)
        translate([oled_x + h[0], oled_y + h[1], -oled_post]) hanging_post(oled_post);
}

oled_post = 3;  // lid underside to the OLED's PCB: the glass sits just under the window

module hanging_post(h) {
    difference() {
        cylinder(d = post_d, h = h + 0.01);
        translate([0, 0, -0.01]) cylinder(d = post_hole, h = h - 0.6);
    }
}

function button_x() = wall + gap + (oled_x - wall - gap) / 2;

module caps() {
    // plunger: a shaft through the lid hole, a collar that keeps it from falling out
    for (i = [0, 1]) translate([i * 10, 0, 0]) {
        cylinder(d = button_d + 2.4, h = 1.2);
        cylinder(d = button_d - 0.4, h = 1.2 + lid_t + 1.5);
    }
}

if (part == "tray") tray();
else if (part == "lid") translate([0, 0, lid_t]) mirror([0, 0, 1]) lid();
else if (part == "caps") caps();
else {
    color("white") tray();
    color("lightgrey") translate([0, 0, floor_t + inner_h + 8]) lid();
    color("orange") translate([0, -20, 0]) caps();
}
